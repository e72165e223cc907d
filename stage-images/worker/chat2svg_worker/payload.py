"""PayloadRef transfer (docs/architecture.md §5): inline when the serialized ref fits the budget, else S3."""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import os
from functools import cache
from typing import Any

from chat2svg_worker.contracts import validate_payload_ref
from chat2svg_worker.errors import Failed, InvalidInput, StageError, Unavailable

# Same numbers as BUDGETS in functions/contracts/schemas.ts. A stage's input has no fixed budget:
# prepare-stage-input fits it to the GPU backend's request (functions/contracts/transports.ts).
STAGE_OUTPUT_BUDGET = 128 * 1024
BUDGETS = {
    "stageOutput": STAGE_OUTPUT_BUDGET,
}

_TEXT_TYPES = ("text/", "application/json", "image/svg+xml", "application/xml")


class PayloadTooLarge(Failed):
    """Over the inline budget and no bucket to put it in."""


def run_key(request_id: str, stage: str, name: str) -> str:
    return f"runs/{request_id}/{stage}/{name}"


@cache
def s3_client() -> Any:
    # boto3 reads AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL itself; locally they point at s3rver.
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}))


def json_size(value: Any) -> int:
    """Size of a value as every transport carries it: UTF-8 bytes of its compact JSON, non-ASCII kept
    as is. The same definition as jsonSize in functions/contracts/transports.ts (golden vectors in
    tests/golden/payload-size.json)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_payload(ref: dict[str, Any], *, client: Any = None) -> bytes:
    """Decoded bytes of a PayloadRef; checks byte count and sha256."""
    validate_payload_ref(ref)
    if "inline" in ref:
        text, encoding = ref["inline"], ref["encoding"]
        try:
            if encoding == "utf8":
                data = text.encode("utf-8")
            elif encoding == "base64":
                data = base64.b64decode(text, validate=True)
            else:
                data = gzip.decompress(base64.b64decode(text, validate=True))
        except (ValueError, OSError) as exc:
            raise InvalidInput(f"payload does not decode as {encoding}: {exc}") from exc
    else:
        bucket, key = ref["s3"]["bucket"], ref["s3"]["key"]
        try:
            data = (client or s3_client()).get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:  # botocore raises many unrelated types
            raise _s3_error(f"cannot read s3://{bucket}/{key}", exc) from exc
    if len(data) != ref["bytes"]:
        raise InvalidInput(f"payload has {len(data)} bytes, ref says {ref['bytes']}")
    if _sha256(data) != ref["sha256"]:
        raise InvalidInput("payload sha256 does not match its ref")
    return data


def read_json_payload(ref: dict[str, Any], *, client: Any = None) -> Any:
    try:
        return json.loads(read_payload(ref, client=client))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"payload is not JSON: {exc}") from exc


def _inline_candidates(data: bytes, media_type: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if media_type.startswith(_TEXT_TYPES):
        with contextlib.suppress(UnicodeDecodeError):
            out.append(("utf8", data.decode("utf-8")))
    if not out:
        out.append(("base64", base64.b64encode(data).decode("ascii")))
    # mtime=0 keeps the encoding deterministic for a given input.
    out.append(("gzip+base64", base64.b64encode(gzip.compress(data, 9, mtime=0)).decode("ascii")))
    return out


def make_payload(
    data: bytes,
    media_type: str,
    *,
    budget: int,
    s3_bucket: str | None = None,
    s3_key: str | None = None,
    client: Any = None,
) -> dict[str, Any]:
    """A PayloadRef for `data`: the first inline encoding (utf8 for text, else base64, then
    gzip+base64) whose serialized ref is at most `budget` bytes (json_size), else an S3 object."""
    meta = {"mediaType": media_type, "bytes": len(data), "sha256": _sha256(data)}
    for encoding, text in _inline_candidates(data, media_type):
        ref = {"inline": text, "encoding": encoding, **meta}
        if json_size(ref) <= budget:
            return ref
    if not s3_bucket or not s3_key:
        raise PayloadTooLarge(
            f"{media_type} payload of {len(data)} bytes exceeds the inline budget of {budget} bytes "
            "and no payload bucket is configured (set PAYLOAD_BUCKET)"
        )
    try:
        (client or s3_client()).put_object(Bucket=s3_bucket, Key=s3_key, Body=data, ContentType=media_type)
    except Exception as exc:
        raise _s3_error(f"cannot write s3://{s3_bucket}/{s3_key}", exc) from exc
    return {"s3": {"bucket": s3_bucket, "key": s3_key}, **meta}


def make_json_payload(doc: Any, *, budget: int, **kwargs: Any) -> dict[str, Any]:
    data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return make_payload(data, "application/json", budget=budget, **kwargs)


def make_output_payload(
    data: bytes,
    media_type: str,
    stage_input: dict[str, Any],
    name: str,
    *,
    budget: int = STAGE_OUTPUT_BUDGET // 2,
    client: Any = None,
) -> dict[str, Any]:
    """A payload for a StageOutput field; half the output budget by default so svg and target
    both fit. Spills to PAYLOAD_BUCKET under runs/<requestId>/<stage>/<name>."""
    return make_payload(
        data,
        media_type,
        budget=budget,
        s3_bucket=os.environ.get("PAYLOAD_BUCKET") or None,
        s3_key=run_key(stage_input["requestId"], stage_input["stage"], name),
        client=client,
    )


def _s3_error(message: str, exc: Exception) -> StageError:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    if code in ("NoSuchKey", "NoSuchBucket", "404", "AccessDenied", "403"):
        return InvalidInput(f"{message}: {code}")
    return Unavailable(f"{message}: {type(exc).__name__}: {exc}"[:1000])
