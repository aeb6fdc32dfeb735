"""Coverage-guided fuzzing of the C decoder against the pure-Python reference (atheris).

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
Any other exception, a disagreement or a crash of the C code stops the run with the input.
To also catch memory errors in the C code, build it with AddressSanitizer and pass its path::

    gcc -shared -fPIC -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \\
        $(python3-config --includes) protocol/_cbor.c -o /tmp/asan/_cbor.so
    ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD=$(gcc -print-file-name=libasan.so) \\
        python tests/protocol/fuzz_cbor_atheris.py --so /tmp/asan/_cbor.so -max_total_time=600
"""

from __future__ import annotations

import atexit
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
    """Use the C decoder built at ``path`` (e.g. with sanitizers) instead of the installed one."""
    loader = importlib.machinery.ExtensionFileLoader("protocol._cbor", path)
    spec = importlib.util.spec_from_file_location("protocol._cbor", path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    cbor._accelerated = module.decode
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


ACCELERATED_DECODER: Any = None


def main() -> None:
    global ACCELERATED_DECODER
    args = list(sys.argv)
    if "--so" in args:
        at = args.index("--so")
        _load_c_decoder(args[at + 1])
        del args[at : at + 2]
    if "--make-corpus" in args:
        _make_corpus(Path(args[args.index("--make-corpus") + 1]))
        return
    ACCELERATED_DECODER = cbor._accelerated
    if ACCELERATED_DECODER is None:
        raise SystemExit("the C decoder is not built: nothing to compare")
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
