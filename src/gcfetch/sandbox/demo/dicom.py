"""Small, valid DICOM files written by hand (Part 10: preamble, `DICM`, file meta, data set,
explicit VR little endian), so that the sandbox needs no DICOM library.

Each file is an 8-bit grayscale secondary capture: single-frame, or multi-frame with
`NumberOfFrames` (Multi-frame Grayscale Byte SC Image Storage). SimpleITK (GDCM) reads them.
"""

from __future__ import annotations

import struct

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
_SC = "1.2.840.10008.5.1.4.1.1.7"
_MULTI_FRAME_SC = "1.2.840.10008.5.1.4.1.1.7.2"
_IMPLEMENTATION_UID = "2.25.305828488182831875890203105390232719416"
_LONG_VRS = {"OB", "OW", "OF", "SQ", "UT", "UN"}


def _element(group: int, element: int, vr: str, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\0" if vr in ("UI", "OB") else b" "
    tag = struct.pack("<HH", group, element) + vr.encode()
    if vr in _LONG_VRS:
        return tag + b"\0\0" + struct.pack("<I", len(value)) + value
    return tag + struct.pack("<H", len(value)) + value


def _us(value: int) -> bytes:
    return struct.pack("<H", value)


def dicom_bytes(
    *,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    instance_number: int,
    pixels: bytes,
    rows: int,
    columns: int,
    frames: int = 1,
    patient_id: str = "DEMO",
) -> bytes:
    """One instance; `pixels` holds `frames * rows * columns` bytes (8 bits per pixel)."""
    if len(pixels) != frames * rows * columns:
        raise ValueError("pixels must hold frames * rows * columns bytes")
    sop_class = _MULTI_FRAME_SC if frames > 1 else _SC
    elements = [
        _element(0x0008, 0x0016, "UI", sop_class.encode()),
        _element(0x0008, 0x0018, "UI", sop_uid.encode()),
        _element(0x0008, 0x0060, "CS", b"OT"),
        _element(0x0008, 0x0064, "CS", b"WSD"),
        _element(0x0010, 0x0010, "PN", b"Demo^Patient"),
        _element(0x0010, 0x0020, "LO", patient_id.encode()),
        _element(0x0020, 0x000D, "UI", study_uid.encode()),
        _element(0x0020, 0x000E, "UI", series_uid.encode()),
        _element(0x0020, 0x0013, "IS", str(instance_number).encode()),
        _element(0x0028, 0x0002, "US", _us(1)),
        _element(0x0028, 0x0004, "CS", b"MONOCHROME2"),
    ]
    if frames > 1:
        elements.append(_element(0x0028, 0x0008, "IS", str(frames).encode()))
    elements += [
        _element(0x0028, 0x0010, "US", _us(rows)),
        _element(0x0028, 0x0011, "US", _us(columns)),
        _element(0x0028, 0x0100, "US", _us(8)),
        _element(0x0028, 0x0101, "US", _us(8)),
        _element(0x0028, 0x0102, "US", _us(7)),
        _element(0x0028, 0x0103, "US", _us(0)),
        _element(0x7FE0, 0x0010, "OB", pixels),
    ]
    return b"\0" * 128 + b"DICM" + _file_meta(sop_class, sop_uid) + b"".join(elements)


def _file_meta(sop_class: str, sop_uid: str) -> bytes:
    """The file meta group (0002): its length element, then its elements."""
    body = b"".join(
        [
            _element(0x0002, 0x0001, "OB", b"\0\1"),
            _element(0x0002, 0x0002, "UI", sop_class.encode()),
            _element(0x0002, 0x0003, "UI", sop_uid.encode()),
            _element(0x0002, 0x0010, "UI", EXPLICIT_VR_LITTLE_ENDIAN.encode()),
            _element(0x0002, 0x0012, "UI", _IMPLEMENTATION_UID.encode()),
        ]
    )
    return _element(0x0002, 0x0000, "UL", struct.pack("<I", len(body))) + body
