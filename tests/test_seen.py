"""The ARNs a run has seen: strings while few, a table of 128-bit digests once many."""

from __future__ import annotations

import pytest

from sagefetch import _seen
from sagefetch._seen import SeenArns


def _arn(number: int) -> str:
    return f"arn:aws:sagemaker:us-east-1:123456789012:model-package/group/{number}"


@pytest.fixture
def few_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch to digests after 8 ARNs, so tests cross the switch with few ARNs."""
    monkeypatch.setattr(_seen, "_EXACT_UP_TO", 8)


@pytest.mark.parametrize(
    "count",
    [
        pytest.param(5, id="strings"),
        pytest.param(5_000, id="digests-after-several-growths"),
    ],
)
@pytest.mark.usefixtures("few_strings")
def test_each_arn_is_new_once(count: int) -> None:
    """Every ARN is new the first time and a repeat after, on both sides of the switch."""
    seen = SeenArns()
    assert all(seen.add(_arn(number)) for number in range(count))
    assert not any(seen.add(_arn(number)) for number in range(count))
    assert seen.add(_arn(count))


@pytest.mark.usefixtures("few_strings")
def test_the_table_stays_at_most_half_full() -> None:
    """10,000 digests take 16 bytes a slot, in 2 to 4 slots per ARN (a power of two)."""
    seen = SeenArns()
    for number in range(10_000):
        seen.add(_arn(number))
    table_bytes = len(seen._table) * seen._table.itemsize
    assert table_bytes == 16 * 32_768


@pytest.mark.usefixtures("few_strings")
def test_strings_that_differ_anyhow_stay_apart() -> None:
    """Non-ASCII, lone surrogates (a file read with surrogateescape) and near twins are distinct."""
    arns = [_arn(number) for number in range(9)]  # past the switch
    arns += ["arn:é", "arn:e\u0301", "arn:\udce9", "arn:\udce9\udce9", "arn:", "arn: "]
    seen = SeenArns()
    assert all(seen.add(arn) for arn in arns)
    assert not any(seen.add(arn) for arn in arns)


@pytest.mark.usefixtures("few_strings")
def test_digests_that_share_a_slot_are_both_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Digests that start at one slot, or share a half, are told apart by the whole digest."""
    digests = {"a": 1 << 64 | 7, "b": 2 << 64 | 7, "c": 1 << 64 | 7 + 2**40, "d": 1 << 64 | 7}
    seen = SeenArns()
    for number in range(9):
        seen.add(_arn(number))
    monkeypatch.setattr(_seen, "_digest", digests.__getitem__)
    assert [seen.add(key) for key in "abcd"] == [True, True, True, False]
