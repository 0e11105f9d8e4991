"""The automatic prompt-caching hint: when a request's system prefix passes the provider's minimum.

The seed's table: Bedrock caches a prefix of 1,024 tokens or more behind a `cachePoint` block that
the request must carry; Azure OpenAI caches prompts of 1,024 tokens or more by itself; Vertex
context caching starts at 32,768 tokens and needs a `cachedContents` resource (Upstream's
`cached_content`). So only Bedrock needs a hint added, and only on model families that accept
`cachePoint` (Anthropic Claude and Amazon Nova: Bedrock rejects the block on other models with a
400). A client's own `cache_hint` (from `cache_control`) is left as it is; with none, the last
message of the leading system prefix gets one when that prefix is long enough.

Tokens are estimated at 4 characters each, as the router's limiter estimates prompts: a prefix
estimated just over the minimum may be cached by the provider as not long enough, which costs
nothing (the provider processes it without caching).
"""

import re

from skyrelay.runtime.canonical import Message

PROVIDER_MINIMUM_TOKENS = {"bedrock": 1024, "azure_openai": 1024, "vertex": 32768}
AUTOMATIC = frozenset({"azure_openai"})  # caches by itself past its minimum: no hint to add
CHARS_PER_TOKEN = 4
_BEDROCK_CACHING = re.compile(r"^(?:(?:us|eu|apac|us-gov|global)\.)?(?:anthropic\.claude|amazon\.nova)")


def bedrock_caches(model_id: str) -> bool:
    """Whether a Bedrock model id (or cross-region inference profile) accepts `cachePoint` blocks."""
    return _BEDROCK_CACHING.match(model_id.rsplit("/", 1)[-1]) is not None


def system_prefix_tokens(messages: list[Message]) -> tuple[int, int | None]:
    """(estimated tokens, index of its last message) of the leading run of system messages."""
    chars, last = 0, None
    for i, m in enumerate(messages):
        if m.role != "system":
            break
        chars, last = chars + len(m.content or ""), i
    return chars // CHARS_PER_TOKEN, last


def auto_hint_index(messages: list[Message], provider: str) -> int | None:
    """The message after which to add the provider's cache hint, or None (no hint needed or wanted)."""
    minimum = PROVIDER_MINIMUM_TOKENS.get(provider)
    if minimum is None or provider in AUTOMATIC or any(m.cache_hint for m in messages):
        return None
    tokens, last = system_prefix_tokens(messages)
    return last if last is not None and tokens >= minimum else None
