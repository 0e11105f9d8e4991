"""Point 3, prompt caching for system prompts over 1,024 tokens.

Per deployment of the router config the stack deploys: Bedrock needs the router's automatic
`cachePoint` (`prompt_cache: auto`, the default) on a model family that accepts it (Claude, Nova);
Azure OpenAI caches past 1,024 tokens by itself; Vertex context caching (32,768 tokens and up)
needs a cachedContents resource, which skyrelay does not create: a warning. Cache reads and writes
are reported in the usage (`prompt_tokens_details`) and in /metrics (`skyrelay_tokens{kind}`); the
cost applies `price.cache_read` / `price.cache_write`, which must be set or cache reads are billed
at the full input price (a warning).
"""

from skyrelay.check.model import Row, judged
from skyrelay.check.subject import Subject
from skyrelay.runtime.providers.prompt_cache import AUTOMATIC, PROVIDER_MINIMUM_TOKENS, bedrock_caches

TITLE = "Prompt caching for system prompts over 1,024 tokens"
FIX = ("leave `prompt_cache: auto` on Bedrock deployments (a Claude or Nova model); Vertex context caching needs a "
       "cachedContents resource the router does not create (make one for long shared prompts, or accept the input "
       "price); set price.cache_read and price.cache_write so the cost applies the cache prices")


def check(subject: Subject) -> Row:
    cfg = subject.router
    if cfg is None:
        return judged(3, TITLE, [subject.router_error or "no router config in the plan (CONFIG_JSON)"], [], FIX)
    problems, warnings, evidence = [], [], []
    for d in cfg.deployments:
        minimum = PROVIDER_MINIMUM_TOKENS.get(d.provider)
        if d.provider == "bedrock":
            if d.prompt_cache == "off":
                problems.append(f"{d.name}: prompt caching off (prompt_cache: off)")
                continue
            if not bedrock_caches(d.upstream_model):
                warnings.append(f"{d.name}: {d.upstream_model} takes no cachePoint on Bedrock: not cached")
                continue
            evidence.append(f"{d.name}: cachePoint added automatically past {minimum:,} system tokens")
        elif d.provider in AUTOMATIC:
            evidence.append(f"{d.name}: {d.provider} caches prompts past {minimum:,} tokens by itself")
        elif d.provider == "vertex":
            warnings.append(f"{d.name}: Vertex context caching starts at {minimum:,} tokens and needs a cachedContents "
                            "resource: not set up")
            continue
        else:
            evidence.append(f"{d.name}: {d.provider}: the provider's own caching")
        if d.price.cache_read is None or d.price.cache_write is None:
            warnings.append(f"{d.name}: price.cache_read / cache_write unset: cache tokens cost the input price")
        else:
            evidence.append(f"{d.name}: cost applies cache_read {d.price.cache_read:g} and cache_write "
                            f"{d.price.cache_write:g} per 1,000 tokens")
    evidence.append("usage reports cache reads and writes (prompt_tokens_details.cached_tokens / cache_write_tokens, "
                    "skyrelay_tokens{kind=cache_read|cache_write})")
    return judged(3, TITLE, problems, evidence, FIX, warnings)
