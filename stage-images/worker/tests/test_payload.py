import base64
import gzip
import hashlib
import json
import os

import pytest

from chat2svg_worker import BUDGETS, InvalidInput, make_payload, read_payload, run_key
from chat2svg_worker.payload import PayloadTooLarge, s3_client

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4" fill="#0a0"/></svg>'


def test_text_fits_inline_as_utf8() -> None:
    ref = make_payload(SVG, "image/svg+xml", budget=BUDGETS["ecsStageInput"])
    assert ref["encoding"] == "utf8"
    assert ref["inline"] == SVG.decode()
    assert ref["sha256"] == hashlib.sha256(SVG).hexdigest()
    assert read_payload(ref) == SVG


def test_binary_is_base64() -> None:
    data = bytes(range(256))
    ref = make_payload(data, "image/png", budget=10_000)
    assert ref["encoding"] == "base64"
    assert read_payload(ref) == data


def test_falls_back_to_gzip_when_plain_text_exceeds_the_budget() -> None:
    svg = SVG * 200  # compresses very well
    ref = make_payload(svg, "image/svg+xml", budget=BUDGETS["ecsStageInput"])
    assert ref["encoding"] == "gzip+base64"
    assert len(json.dumps(ref)) <= BUDGETS["ecsStageInput"]
    assert gzip.decompress(base64.b64decode(ref["inline"])) == svg
    assert read_payload(ref) == svg


def test_over_budget_without_bucket_is_a_clear_error() -> None:
    noise = os.urandom(10_000)
    with pytest.raises(PayloadTooLarge, match="PAYLOAD_BUCKET") as info:
        make_payload(noise, "image/png", budget=BUDGETS["ecsStageInput"])
    assert info.value.name == "Stage.Failed"


def test_tampered_inline_payload_is_rejected() -> None:
    ref = make_payload(SVG, "image/svg+xml", budget=10_000)
    with pytest.raises(InvalidInput, match="sha256"):
        read_payload({**ref, "inline": ref["inline"].replace("0a0", "a00")})
    with pytest.raises(InvalidInput, match="bytes"):
        read_payload({**ref, "bytes": ref["bytes"] + 1})


def test_large_payload_goes_to_s3_and_reads_back(s3rver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from worker_support import aws_env

    for key, value in aws_env(s3=s3rver).items():
        monkeypatch.setenv(key, value)
    s3_client.cache_clear()
    noise = os.urandom(20_000)
    key = run_key("req-9", "detail", "target.png")
    ref = make_payload(noise, "image/png", budget=BUDGETS["ecsStageInput"], s3_bucket="payloads", s3_key=key)
    assert ref["s3"] == {"bucket": "payloads", "key": "runs/req-9/detail/target.png"}
    assert read_payload(ref) == noise
    with pytest.raises(InvalidInput, match="NoSuchKey"):
        read_payload({**ref, "s3": {"bucket": "payloads", "key": "runs/none"}})
    s3_client.cache_clear()
