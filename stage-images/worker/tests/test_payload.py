import base64
import gzip
import hashlib
import json
import os
from pathlib import Path

import pytest

from chat2svg_worker import InvalidInput, make_payload, read_payload, run_key
from chat2svg_worker.payload import PayloadTooLarge, json_size, s3_client

# Any small budget: inline or not is decided per transport by prepare-stage-input.
INLINE_BUDGET = 6 * 1024

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="4" height="4" fill="#0a0"/></svg>'


def test_text_fits_inline_as_utf8() -> None:
    ref = make_payload(SVG, "image/svg+xml", budget=INLINE_BUDGET)
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
    ref = make_payload(svg, "image/svg+xml", budget=INLINE_BUDGET)
    assert ref["encoding"] == "gzip+base64"
    assert json_size(ref) <= INLINE_BUDGET
    assert gzip.decompress(base64.b64decode(ref["inline"])) == svg
    assert read_payload(ref) == svg


def test_over_budget_without_bucket_is_a_clear_error() -> None:
    noise = os.urandom(10_000)
    with pytest.raises(PayloadTooLarge, match="PAYLOAD_BUCKET") as info:
        make_payload(noise, "image/png", budget=INLINE_BUDGET)
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
    ref = make_payload(noise, "image/png", budget=INLINE_BUDGET, s3_bucket="payloads", s3_key=key)
    assert ref["s3"] == {"bucket": "payloads", "key": "runs/req-9/detail/target.png"}
    assert read_payload(ref) == noise
    with pytest.raises(InvalidInput, match="NoSuchKey"):
        read_payload({**ref, "s3": {"bucket": "payloads", "key": "runs/none"}})
    s3_client.cache_clear()


GOLDEN = json.loads((Path(__file__).parent / "golden" / "payload-size.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[case["name"] for case in GOLDEN["cases"]])
def test_measures_payload_size_as_the_golden_vectors_say(case: dict) -> None:
    assert json_size(case["value"]) == case["bytes"]


def test_counts_non_ascii_text_in_utf8_bytes_not_escapes() -> None:
    assert json_size({"p": "é"}) == len('{"p":""}') + 2
    assert json_size({"p": "🦊"}) == len('{"p":""}') + 4
