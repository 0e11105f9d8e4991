"""One line of a batch file: `{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}`,
validated the way `/v1/chat/completions` validates a body (runtime/parse.py), plus the tier's checks
(runtime/router/limits: model access, the max_tokens cap, the line's TPM reservation). Every error is
the usual 4xx with its stable code and a message that starts with `line N:`.
"""

from dataclasses import dataclass

import orjson

from skyrelay.runtime.canonical import ChatRequest
from skyrelay.runtime.errors import InvalidJson, SkyrelayError, UnknownModel, ValidationFailed
from skyrelay.runtime.parse import CHAT_PARAMETERS, check_parameters, load_json, parse_chat
from skyrelay.runtime.router.limits import check_request, effective_max_tokens, estimate_prompt, reserve_for

ENDPOINTS = ("/v1/chat/completions",)
CUSTOM_ID_MAX = 512
READ_BUFFER = 1 << 18
LINE_FIELDS = frozenset(("custom_id", "method", "url", "body"))
BODY_PARAMETERS = CHAT_PARAMETERS - {"stream_options"}  # a batch line cannot stream


class TpmExceeded(SkyrelayError):
    """A line whose reservation (prompt estimate + max_tokens) no window of the tier's TPM can hold."""

    status, code = 400, "tpm_exceeded"


@dataclass(slots=True)
class Line:
    number: int  # 1-based, as editors count
    custom_id: str
    request: ChatRequest  # with the effective max_tokens applied
    tokens: int  # the TPM reservation: prompt estimate + max_tokens


def _at(number: int, exc: SkyrelayError) -> SkyrelayError:
    """The same error (class, code, status) with the line named first."""
    out = type(exc).__new__(type(exc))
    out.__dict__.update(exc.__dict__)
    out.message = f"line {number}: {exc.message}"
    out.args = (out.message,)
    return out


class LineChecker:
    """Checks lines for one tenant: `tiers` / `model_classes` as the router has them."""

    def __init__(self, tier, model_classes: dict, default_max_tokens: int | None):
        self.tier, self.model_classes, self.default_max_tokens = tier, model_classes, default_max_tokens
        self.seen: set[str] = set()
        self.allowed: set[str] = set()  # models this tier was seen to be allowed

    def check(self, number: int, raw: bytes) -> Line:
        try:
            return self._check(raw)
        except SkyrelayError as exc:
            raise _at(number, exc) from None

    def _check(self, raw: bytes) -> Line:
        try:
            doc = load_json(raw)
        except InvalidJson:
            raise InvalidJson("not valid JSON") from None
        if not isinstance(doc, dict):
            raise ValidationFailed("must be a JSON object")
        if not doc.keys() <= LINE_FIELDS:
            unknown = sorted(doc.keys() - LINE_FIELDS)
            raise ValidationFailed(f"{unknown[0]}: unknown field (a line has custom_id, method, url, body)")
        custom_id = doc.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id or len(custom_id) > CUSTOM_ID_MAX:
            raise ValidationFailed(f"custom_id: must be a non-empty string of at most {CUSTOM_ID_MAX} characters")
        if custom_id in self.seen:
            raise ValidationFailed(f"custom_id: {custom_id!r} is used twice in this file")
        if doc.get("method") != "POST":
            raise ValidationFailed("method: must be POST")
        if doc.get("url") not in ENDPOINTS:
            raise ValidationFailed(f"url: must be {ENDPOINTS[0]}")
        body = doc.get("body")
        if not isinstance(body, dict):
            raise ValidationFailed("body: must be an object")
        check_parameters(body, BODY_PARAMETERS)
        if body.get("stream"):
            raise ValidationFailed("body.stream: batch requests cannot stream")
        request, _ = parse_chat(body)
        if request.model in self.allowed:  # model access decided once per model (check_request below)
            request.max_tokens = effective_max_tokens(self.tier, request, self.default_max_tokens)
        else:
            model_class = self.model_classes.get(request.model)
            if model_class is None:
                raise UnknownModel(f"model {request.model!r} does not exist")
            request.max_tokens = check_request(self.tier, model_class, request, self.default_max_tokens)
            self.allowed.add(request.model)
        tokens = reserve_for(estimate_prompt(request.messages), request.max_tokens, self.tier)
        if tokens > self.tier.tpm:
            raise TpmExceeded(f"reserves {tokens} tokens (prompt estimate + max_tokens), over the "
                              f"{self.tier.name.value} tier's {self.tier.tpm} tokens per minute")
        self.seen.add(custom_id)
        return Line(0, custom_id, request, tokens)


def iter_lines(path):
    """(number, raw line) for each non-blank line of a JSONL file, read a line at a time."""
    with open(path, "rb", READ_BUFFER) as f:
        for number, raw in enumerate(f, 1):
            raw = raw.strip()
            if raw:
                yield number, raw


def check_file(path, checker: LineChecker, max_lines: int):
    """Every line of the file, checked; yields Lines. Raises the first line's error.
    One generator over the file (no layer per line): it runs 50,000 times for one provider job."""
    count = 0
    check = checker._check
    with open(path, "rb", READ_BUFFER) as f:
        for number, raw in enumerate(f, 1):
            raw = raw.strip()
            if not raw:
                continue
            count += 1
            if count > max_lines:
                raise ValidationFailed(f"line {number}: the file has more than {max_lines} requests "
                                       "(jobs.batch.max_lines)")
            try:
                line = check(raw)
            except SkyrelayError as exc:
                raise _at(number, exc) from None
            line.number = number
            yield line
    if count == 0:
        raise ValidationFailed("file: has no requests (one JSON object per line)")


def dumps_line(doc: dict) -> bytes:
    return orjson.dumps(doc) + b"\n"
