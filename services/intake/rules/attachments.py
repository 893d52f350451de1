"""Attachment rules, as plain functions: what an uploaded file may be (its real type, its
name, what an archive holds) and how many and how large the files of one request may be.

Archives are looked into, never extracted. No nameko, no SQLAlchemy session here.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass

import filetype

from services.intake.rules.submission import Channel
from shared.errors import InvalidInput, field_error
from shared.vocabulary import ORIGIN_PATRONATO

PATRONATO_ATTACHMENTS_MAX_TOTAL = 6 * 1024 * 1024  # 6 MB in total (COMBIPAT, 2021)
ATTACHMENT_MAX_SIZE = PATRONATO_ATTACHMENTS_MAX_TOTAL
CASSETTO_MAX_ATTACHMENTS = 3  # stored together as one compressed archive (messaggio 1986/2011)

ALLOWED_CONTENT_TYPES = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/tiff": "tif",
    "application/zip": "zip",
    "text/plain": "txt",
}
# Office documents are ZIP containers; filetype reports their own types.
ALLOWED_CONTENT_TYPES.update(
    {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
        "application/vnd.oasis.opendocument.text": "odt",
        "application/vnd.oasis.opendocument.spreadsheet": "ods",
    }
)

# Windows PE, ELF, Mach-O (both byte orders, 32/64 bit, universal), scripts with a shebang.
_EXECUTABLE_SIGNATURES = (
    b"MZ",
    b"\x7fELF",
    b"\xca\xfe\xba\xbe",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"#!",
)


def sniff_content_type(data: bytes) -> str | None:
    """The type the bytes really are (not what the name or the client says), if allowed."""
    if data.startswith(_EXECUTABLE_SIGNATURES):
        return None
    kind = filetype.guess(data)
    if kind is not None:
        return kind.mime if kind.mime in ALLOWED_CONTENT_TYPES else None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain" if "\x00" not in text else None


_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._ -]+")


def sanitise_filename(name: str, content_type: str) -> str:
    """A name safe for storage keys and download headers, with the extension of the real type."""
    base = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode("ascii")
    base = base.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME_CHARS.sub("_", base).strip(" ._") or "allegato"
    stem = base.rsplit(".", 1)[0][:100] or "allegato"
    return f"{stem}.{ALLOWED_CONTENT_TYPES[content_type]}"


def check_attachment(filename: str, data: bytes) -> tuple[str, str]:
    """Return (content type, safe file name) or raise InvalidInput."""
    if not data:
        raise InvalidInput.from_errors([field_error("file", "empty_file", "Il file è vuoto.")])
    if len(data) > ATTACHMENT_MAX_SIZE:
        raise InvalidInput.from_errors(
            [field_error("file", "file_too_large", "Il file supera la dimensione massima di 6 MB.")]
        )
    content_type = sniff_content_type(data)
    if content_type is None:
        raise InvalidInput.from_errors(
            [
                field_error(
                    "file",
                    "file_type_not_allowed",
                    "Tipo di file non ammesso: sono accettati PDF, immagini (PNG, JPEG, TIFF), testo, ZIP "
                    "e documenti Office/OpenDocument.",
                )
            ]
        )
    check_archive(data)
    return content_type, sanitise_filename(filename, content_type)


# Archives are looked into, never extracted. Office and OpenDocument files are ZIP containers too.
ARCHIVE_MAX_MEMBERS = 1000  # over all nested archives; an Office document has a few dozen
ARCHIVE_MAX_UNPACKED = 256 * 1024 * 1024  # declared total: more is a zip bomb for whoever opens it
ARCHIVE_MAX_DEPTH = 3  # an archive inside an archive inside an archive
ARCHIVE_NESTED_BUDGET = 16 * 1024 * 1024  # bytes inflated in all to look into archives inside
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
_HEAD_BYTES = 8
# deflate output is bounded per read; bzip2 and lzma inflate a whole block at once (a bomb)
_INSPECTABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# What Windows, macOS or Linux runs when opened, scripts, installers, shortcuts, disk images.
EXECUTABLE_EXTENSIONS = frozenset(
    """exe dll com bat cmd scr msi msp msc cpl pif lnk hta inf reg scf sys drv ocx gadget
    js jse vbs vbe wsf wsh ws ps1 psm1 psd1 sh bash zsh csh ksh command py pyw pl rb php
    jar class apk app dmg pkg deb rpm run elf so dylib iso img vhd vhdx appx msix xll""".split()
)
_MACRO_MEMBERS = frozenset({"vbaproject.bin"})  # Office macros (docm/xlsm renamed to docx/xlsx)


def _archive_refused(detail: str) -> InvalidInput:
    return InvalidInput.from_errors([field_error("file", "file_type_not_allowed", detail)])


class _Unreadable(Exception):
    """The bytes cannot be read as an archive."""


@dataclass
class _ArchiveBudget:
    members: int = ARCHIVE_MAX_MEMBERS
    nested_bytes: int = ARCHIVE_NESTED_BUDGET


def check_archive(data: bytes) -> None:
    """Refuse, as ``file_type_not_allowed``, a ZIP (or Office/OpenDocument file) that holds
    an executable, a script or a macro, and one that cannot be checked: corrupt, encrypted,
    compressed with another method than deflate, too many files or too large once unpacked.

    Bounded: names and declared sizes come from the central directory; of each member only
    the first bytes are inflated, and an archive inside is read within a byte budget, so a
    zip bomb is never inflated whole. A file of another type with an archive glued to its
    end (archive tools open it as one) is looked into too, but refused only for what it holds.
    """
    starts_as_zip = data.startswith(_ZIP_SIGNATURES)
    if not starts_as_zip and not zipfile.is_zipfile(io.BytesIO(data)):
        return
    try:
        _inspect_zip(data, _ArchiveBudget(), depth=1)
    except _Unreadable:
        if starts_as_zip:
            raise _archive_refused("L'archivio è danneggiato o non leggibile.") from None


def _inspect_zip(data: bytes, budget: _ArchiveBudget, depth: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            budget.members -= len(members)
            if budget.members < 0:
                raise _archive_refused(f"L'archivio contiene più di {ARCHIVE_MAX_MEMBERS} file.")
            if sum(member.file_size for member in members) > ARCHIVE_MAX_UNPACKED:
                raise _archive_refused("L'archivio, una volta estratto, supererebbe 256 MB.")
            for member in members:
                _inspect_member(archive, member, budget, depth)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise _Unreadable() from exc


def _inspect_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: _ArchiveBudget, depth: int):
    if runs_when_opened(member.filename):
        raise _archive_refused("L'archivio contiene un programma, uno script o una macro: non è ammesso.")
    if member.is_dir():
        return
    if member.flag_bits & 0x1:
        raise _archive_refused("L'archivio è protetto da password: non se ne può controllare il contenuto.")
    if member.compress_type not in _INSPECTABLE_METHODS:
        raise _archive_refused("L'archivio usa un metodo di compressione non ammesso (solo ZIP standard).")
    with archive.open(member) as stream:
        head = stream.read(_HEAD_BYTES)
        if head.startswith(_EXECUTABLE_SIGNATURES):
            raise _archive_refused("L'archivio contiene un programma, uno script o una macro: non è ammesso.")
        if not head.startswith(_ZIP_SIGNATURES):
            return
        if depth >= ARCHIVE_MAX_DEPTH:
            raise _archive_refused("L'archivio contiene troppi livelli di archivi uno dentro l'altro.")
        inner = head + stream.read(budget.nested_bytes - len(head) + 1)
    budget.nested_bytes -= len(inner)
    if budget.nested_bytes < 0:
        raise _archive_refused("Gli archivi dentro l'archivio sono troppo grandi per essere controllati.")
    _inspect_zip(inner, budget, depth + 1)


def runs_when_opened(path: str) -> bool:
    """Whether a member's name is one a desktop runs (by extension), or an Office macro."""
    # Windows ignores trailing dots and spaces: "fattura.exe. " runs as fattura.exe
    parts = [part.rstrip(". ").lower() for part in path.replace("\\", "/").split("/") if part]
    if not parts:
        return False
    if any(part.endswith(".app") for part in parts):  # a macOS application is a folder
        return True
    name = parts[-1]
    return name in _MACRO_MEMBERS or ("." in name and name.rsplit(".", 1)[1] in EXECUTABLE_EXTENSIONS)


def check_attachment_count(channel: Channel, count: int) -> None:
    if channel.name == "cassetto" and count > CASSETTO_MAX_ATTACHMENTS:
        raise InvalidInput.from_errors(
            [
                field_error(
                    "attachments",
                    "too_many_attachments",
                    f"Si possono allegare al massimo {CASSETTO_MAX_ATTACHMENTS} file.",
                )
            ]
        )


def check_attachments_total(channel: Channel, sizes: list[int]) -> None:
    if channel.origin == ORIGIN_PATRONATO and sum(sizes) > PATRONATO_ATTACHMENTS_MAX_TOTAL:
        raise InvalidInput.from_errors(
            [
                field_error(
                    "attachments",
                    "attachments_too_large",
                    "Gli allegati superano il limite di 6 MB complessivi.",
                )
            ]
        )
