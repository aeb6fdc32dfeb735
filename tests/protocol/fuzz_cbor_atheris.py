"""Coverage-guided fuzzing of the C decoder and encoder against the pure-Python reference (atheris).

Not part of the suite (pytest does not collect it, CI does not run it); run it by hand for a
bounded time after changing ``protocol/_cbor.c`` or the reference decoder::

    pip install atheris
    python tests/protocol/fuzz_cbor_atheris.py --make-corpus /tmp/cbor-corpus
    python tests/protocol/fuzz_cbor_atheris.py -max_total_time=600 -max_len=2048 /tmp/cbor-corpus

(``--make-corpus`` writes every signed vector of ``specs/vectors``, its payload and protected
header, as seeds; libFuzzer adds what it finds to that folder.)

The first byte of each input picks the allowed tags (none, or tag 18); the rest is decoded by
both decoders, which must give equal values of identical types or refuse with the same code,
and split as a COSE_Sign1 envelope by both splitters (``protocol.cose``), which must agree.
The encoders get two values per input: the decoded value, when the input was valid (both must
give back the input's bytes), and a Python value built from the same bytes, read as a program
(``_build``: integers of every size, bytes, text with lone surrogates, floats, lists, tuples,
maps with foreign, enum and boolean keys, tags allowed and not, IntEnum and StrEnum members,
sets, nesting beyond the limit); both encoders must write the same bytes or refuse alike.
Any other exception, a disagreement or a crash of the C code stops the run with the input.
To also catch memory errors in the C code, build it with AddressSanitizer and pass its path::

    gcc -shared -fPIC -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \\
        $(python3-config --includes) protocol/_cbor.c -o /tmp/asan/_cbor.so
    ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD=$(gcc -print-file-name=libasan.so) \\
        python tests/protocol/fuzz_cbor_atheris.py --so /tmp/asan/_cbor.so -max_total_time=600
"""

from __future__ import annotations

import atexit
import enum
import importlib.machinery
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with atheris.instrument_imports():
    import cbor2  # noqa: F401  (imported here to be instrumented: the reference decoder runs on it)

    from protocol import DecodeError, cbor, cose
    from tests.support.decoding import typed

RUNS = 0


def _load_c_decoder(path: str) -> None:
    """Use the C module built at ``path`` (e.g. with sanitizers) instead of the installed one."""
    loader = importlib.machinery.ExtensionFileLoader("protocol._cbor", path)
    spec = importlib.util.spec_from_file_location("protocol._cbor", path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    cbor._accelerated = module.decode
    cbor._accelerated_encode = module.encode
    cbor._Invalid = module.Invalid
    cose._sign1_parts = module.sign1_parts


def _outcome(data: bytes, tags: tuple[int, ...], decoder: Any) -> Any:
    cbor._accelerated = decoder
    try:
        return ("value", typed(cbor.decode(data, tags=tags)))
    except DecodeError as err:
        return ("refused", err.code)


def one_input(raw: bytes) -> None:
    global RUNS
    RUNS += 1
    if not raw:
        return
    tags = (18,) if raw[0] & 1 else ()
    data = raw[1:]
    c_decoder = ACCELERATED_DECODER
    try:
        c_result = _outcome(data, tags, c_decoder)
        reference = _outcome(data, tags, None)
    finally:
        cbor._accelerated = c_decoder
    if c_result != reference:
        raise AssertionError(f"{data.hex()} tags={tags}: C {c_result} != reference {reference}")
    parts = cose._split_fast(data)
    expected = None if parts is None else (*parts, cose.sig_structure(parts[0], parts[1]))
    if cose._sign1_parts(data) != expected:  # type: ignore[misc]
        raise AssertionError(f"{data.hex()}: the C envelope split differs from protocol.cose._split_fast")
    if reference[0] == "value":  # a valid input: both encoders must give its bytes back
        if _same_encoding(cbor.decode(data, tags=tags), tags) != ("bytes", data):
            raise AssertionError(f"{data.hex()}: decoded and encoded again, the bytes differ")
    _same_encoding(_build(atheris.FuzzedDataProvider(data)), tags)


ACCELERATED_DECODER: Any = None
ACCELERATED_ENCODER: Any = None


class _Label(enum.IntEnum):
    ONE = 1
    BIG = 2**64 - 1
    TOO_BIG = 2**64


class _Word(enum.StrEnum):
    A = "a"
    KANJI = "同意"


class _One(int):
    """Distinct from 1 as a dict key, 1 under int(): two keys equal once converted."""

    def __int__(self) -> int:
        return 1


def _build(fdp: Any, depth: int = 0) -> Any:
    """A Python value read from the fuzzer's bytes; containers nest up to 11 levels (the limit is 8)."""
    op = fdp.ConsumeIntInRange(0, 19 if depth < 11 else 10)
    if op == 0:
        return fdp.ConsumeIntInRange(-300, 300)
    if op == 1:
        return fdp.ConsumeInt(9)  # 72-bit signed: both sides of the 64-bit limits
    if op == 2:
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 40))
    if op == 3:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 12))  # may hold lone surrogates
    if op == 4:
        return fdp.ConsumeBool()
    if op == 5:
        return None
    if op == 6:
        return fdp.ConsumeFloat()
    if op == 7:
        return bytearray(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 10)))
    if op == 8:
        return memoryview(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 10)))
    if op == 9:
        return fdp.PickValueInList([_Label.ONE, _Label.BIG, _Label.TOO_BIG, _Word.A, _Word.KANJI, _One(7),
                                    {1, 2}, frozenset(), object(), complex(1, 1)])
    if op == 10:
        return fdp.ConsumeIntInRange(0, 2**64 - 1)
    if op in (11, 12, 13):
        items = [_build(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]
        return tuple(items) if op == 13 else items
    if op in (14, 15, 16):
        return {_key(fdp): _build(fdp, depth + 1) for _ in range(fdp.ConsumeIntInRange(0, 5))}
    if op == 17:
        return cbor2.CBORTag(18, _build(fdp, depth + 1))
    if op == 18:
        return cbor2.CBORTag(fdp.PickValueInList([1, 2, 17, 19, 2**64 - 1]), _build(fdp, depth + 1))
    return [cbor2.CBORTag(18, _build(fdp, depth + 1))]


def _key(fdp: Any) -> Any:
    op = fdp.ConsumeIntInRange(0, 7)
    if op == 0:
        return fdp.ConsumeIntInRange(-70000, 70000)
    if op == 1:
        return fdp.ConsumeInt(9)
    if op in (2, 3):
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 4))
    return fdp.PickValueInList([True, False, None, 1.5, (1,), _Label.ONE, _Label.TOO_BIG, _Word.A, _One(5),
                                _One(6), 1, "a", ""])


def _encoded(value: Any, tags: tuple[int, ...], encoder: Any) -> Any:
    cbor._accelerated_encode = encoder
    try:
        return ("bytes", cbor.encode(value, tags=tags))
    except DecodeError as err:
        return ("refused", err.code, err.detail)
    except (TypeError, ValueError) as err:  # a failing int() or a released view: the reference's too
        return ("raised", type(err).__name__, str(err))


def _same_encoding(value: Any, tags: tuple[int, ...]) -> Any:
    c_encoder = ACCELERATED_ENCODER
    try:
        c_result = _encoded(value, tags, c_encoder)
        reference = _encoded(value, tags, None)
    finally:
        cbor._accelerated_encode = c_encoder
    if c_result != reference:
        raise AssertionError(f"{value!r} tags={tags}: C encoder {c_result} != reference {reference}")
    return c_result


def main() -> None:
    global ACCELERATED_DECODER, ACCELERATED_ENCODER
    args = list(sys.argv)
    if "--so" in args:
        at = args.index("--so")
        _load_c_decoder(args[at + 1])
        del args[at : at + 2]
    if "--make-corpus" in args:
        _make_corpus(Path(args[args.index("--make-corpus") + 1]))
        return
    ACCELERATED_DECODER = cbor._accelerated
    ACCELERATED_ENCODER = cbor._accelerated_encode
    if ACCELERATED_DECODER is None or ACCELERATED_ENCODER is None:
        raise SystemExit("the C module is not built: nothing to compare")
    atexit.register(lambda: print(f"runs: {RUNS}", file=sys.stderr))
    atheris.Setup(args, one_input)
    atheris.Fuzz()


def _make_corpus(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    vectors = Path(__file__).resolve().parents[2] / "specs" / "vectors"
    count = 0
    for path in sorted(vectors.glob("*.json")):
        vector = json.loads(path.read_text())
        if not isinstance(vector, dict):
            continue
        for field, tag_byte in (("cose_sign1_hex", 1), ("payload_cbor_hex", 0), ("protected_header_hex", 0)):
            if field in vector:
                (folder / f"{path.stem}-{field}").write_bytes(bytes([tag_byte]) + bytes.fromhex(vector[field]))
                count += 1
    print(f"{count} seeds in {folder}")


if __name__ == "__main__":
    main()
