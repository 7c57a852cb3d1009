"""``expressio client install``: the official browser client without Node or npm.

    expressio client install [--dir DIR] [--registry URL] [--force]

downloads the official ``socket.io-client`` tarball of the pinned version
(:data:`CLIENT_VERSION`) from the npm registry, checks it against the ``integrity`` that npm
records for it (:data:`CLIENT_INTEGRITY`, the SRI string of ``package-lock.json``; a test keeps
the two equal), and unpacks only its ``package/dist/`` files (``socket.io.js``, the minified
bundles and their source maps) into a per-user data directory::

    $XDG_DATA_HOME/expressio/socket.io-client-<version>/dist    (default ~/.local/share/...)

where ``/socket.io/socket.io.js`` looks after ``node_modules`` (see :mod:`.client_bundle`).
The environment variable ``EXPRESSIO_CLIENT_DIR`` names another directory for both the
command and the lookup. ``--dir DIR`` installs into DIR instead; the app is then pointed at it
with ``app.io.set("browser client path", DIR)`` (the command prints that line).

Nothing is left behind by a failure: the tarball goes to a temporary file, is verified whole,
then unpacked into a temporary directory beside the target that is renamed into place only
once every file is written. A wrong checksum, a cut-short download, an HTTP error, a corrupt
archive or an entry that would land outside ``dist`` (an absolute path, ``..``, a link, a
device) stops the install with a one-line :class:`InstallError`; an earlier install stays as
it was. Installing again when the client is there does nothing (``force=True`` reinstalls).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import hashlib
import http.client
import os
import re
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO

# Pinned to what package-lock.json records for node_modules/socket.io-client.
CLIENT_VERSION = "4.8.4"
CLIENT_INTEGRITY = "sha512-7wjKAvVXYOJsbmUgkWbnhPD4bFpkqrUR0++XOjpGFmqDqsqV1CI93VTraeExLxpjxEqrWgFoSRZu1ihjLWfkAA=="  # noqa: E501
PACKAGE = "socket.io-client"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
DIR_VARIABLE = "EXPRESSIO_CLIENT_DIR"

CLIENT_FILE = "socket.io.js"
#: The files of a client bundle: socket.io.js, socket.io.min.js, socket.io.msgpack.min.js,
#: socket.io.esm.min.js, and their source maps.
SERVABLE = re.compile(r"^socket\.io(\.[a-z]+)*\.js(\.map)?$")
MAX_DOWNLOAD = 64 * 1024 * 1024  # bytes; the real tarball is well under 2 MB
MAX_UNPACKED = 256 * 1024 * 1024  # bytes written into dist, all files together
TIMEOUT = 60.0  # seconds without progress before the download is given up
_CHUNK = 64 * 1024
_ALGORITHMS = ("sha512", "sha384", "sha256")  # the SRI algorithms, strongest first
_NOTHING = "nothing was installed"


class InstallError(Exception):
    """The install was refused or failed; the message is one line and nothing was installed."""


@dataclass(frozen=True, slots=True)
class Installed:
    """The outcome of :func:`install`."""

    directory: Path  # the dist directory holding socket.io.js
    version: str
    already: bool  # True: it was there already and nothing was done


def data_home() -> Path | None:
    """The per-user data directory (``$XDG_DATA_HOME``, else ``~/.local/share``; on Windows
    ``%LOCALAPPDATA%``), or None when there is no home directory to put it in."""
    configured = os.environ.get("XDG_DATA_HOME")
    if configured and os.path.isabs(configured):
        return Path(configured)
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"])
    try:
        return Path.home() / ".local" / "share"
    except RuntimeError:
        return None


def client_directory(version: str = CLIENT_VERSION) -> Path | None:
    """Where ``expressio client install`` puts the client's ``dist`` files and where apps look
    for them: ``$EXPRESSIO_CLIENT_DIR``, else
    ``<data home>/expressio/socket.io-client-<version>/dist``; None without a home directory."""
    configured = os.environ.get(DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    home = data_home()
    if home is None:
        return None
    return home / "expressio" / f"{PACKAGE}-{version}" / "dist"


def tarball_name(version: str = CLIENT_VERSION) -> str:
    return f"{PACKAGE}-{version}.tgz"


def tarball_url(registry: str = DEFAULT_REGISTRY, version: str = CLIENT_VERSION) -> str:
    """The registry's address of the tarball (npm's layout for an unscoped package)."""
    return f"{registry.rstrip('/')}/{PACKAGE}/-/{tarball_name(version)}"


def parse_integrity(integrity: str) -> tuple[str, bytes]:
    """An SRI string (``sha512-<base64>``, possibly several separated by spaces) as the
    strongest supported ``(algorithm, digest)``; ValueError when none is usable."""
    found: dict[str, bytes] = {}
    for token in integrity.split():
        algorithm, _, encoded = token.partition("-")
        if algorithm not in _ALGORITHMS:
            continue
        try:
            digest = base64.b64decode(encoded.partition("?")[0], validate=True)
        except binascii.Error:
            continue
        if len(digest) == hashlib.new(algorithm).digest_size:
            found.setdefault(algorithm, digest)
    for algorithm in _ALGORITHMS:
        if algorithm in found:
            return algorithm, found[algorithm]
    raise ValueError(f"not a sha256, sha384 or sha512 integrity string: {integrity!r}")


def install(
    directory: Path | None = None,
    *,
    registry: str = DEFAULT_REGISTRY,
    version: str = CLIENT_VERSION,
    integrity: str = CLIENT_INTEGRITY,
    force: bool = False,
    timeout: float = TIMEOUT,
) -> Installed:
    """Download, verify and unpack the client's ``dist`` into ``directory`` (default
    :func:`client_directory`). ``version`` and ``integrity`` default to the pinned ones.
    Raises :class:`InstallError` (nothing installed, an earlier install untouched)."""
    algorithm, expected = parse_integrity(integrity)
    if directory is None:
        directory = client_directory(version)
        if directory is None:
            raise InstallError(
                f"there is no home directory to install into (give --dir or set "
                f"{DIR_VARIABLE}); {_NOTHING}"
            )
    target = Path(os.path.abspath(os.path.expanduser(directory)))
    if (target / CLIENT_FILE).is_file() and not force:
        return Installed(target, version, already=True)
    _check_replaceable(target)
    name = tarball_name(version)
    with tempfile.TemporaryFile(prefix="expressio-client-", suffix=".tgz") as download:
        actual = _download(tarball_url(registry, version), download, algorithm, timeout)
        if actual != expected:
            raise InstallError(
                f"{name} failed its integrity check (expected {_sri(algorithm, expected)}, "
                f"got {_sri(algorithm, actual)}); {_NOTHING}"
            )
        download.seek(0)
        _unpack_into_place(download, name, target)
    return Installed(target, version, already=False)


def _sri(algorithm: str, digest: bytes) -> str:
    return f"{algorithm}-{base64.b64encode(digest).decode('ascii')}"


def _check_replaceable(target: Path) -> None:
    """Refuse a target the install would clobber: a file, or a directory holding anything but
    a client bundle (``--force`` replaces a bundle, never someone's other files)."""
    if not target.exists() and not target.is_symlink():
        return
    if target.is_symlink() or not target.is_dir():
        raise InstallError(f"{target} exists and is not a plain directory; {_NOTHING}")
    for entry in target.iterdir():
        if entry.is_symlink() or not entry.is_file() or not SERVABLE.match(entry.name):
            raise InstallError(
                f"{target} holds other files ({entry.name!r}); choose a new or empty "
                f"directory; {_NOTHING}"
            )


def _download(url: str, into: IO[bytes], algorithm: str, timeout: float) -> bytes:
    """Stream ``url`` into ``into``; the digest of what was received."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise InstallError(f"the registry must be an http or https URL, not {url!r}; {_NOTHING}")
    request = urllib.request.Request(
        url, headers={"User-Agent": "expressio (client install)", "Accept": "*/*"}
    )
    hasher = hashlib.new(algorithm)
    received = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            announced = response.headers.get("Content-Length")
            while chunk := response.read(_CHUNK):
                received += len(chunk)
                if received > MAX_DOWNLOAD:
                    raise InstallError(f"{url} is larger than {MAX_DOWNLOAD} bytes; {_NOTHING}")
                hasher.update(chunk)
                into.write(chunk)
    except urllib.error.HTTPError as error:
        raise InstallError(
            f"could not download {url}: HTTP {error.code} {error.reason}; {_NOTHING}"
        ) from None
    except urllib.error.URLError as error:
        raise InstallError(f"could not download {url}: {error.reason}; {_NOTHING}") from None
    except http.client.IncompleteRead as error:
        raise InstallError(
            f"the download of {url} was cut short ({received + len(error.partial)} bytes "
            f"received); {_NOTHING}"
        ) from None
    except (OSError, http.client.HTTPException) as error:
        reason = str(error) or type(error).__name__
        raise InstallError(f"could not download {url}: {reason}; {_NOTHING}") from None
    if announced is not None and announced.isdigit() and received != int(announced):
        raise InstallError(
            f"the download of {url} was cut short ({received} of {announced} bytes); {_NOTHING}"
        )
    return hasher.digest()


def _unpack_into_place(archive: IO[bytes], name: str, target: Path) -> None:
    """Unpack ``package/dist/`` into a temporary directory beside ``target``, then rename it
    into place; on any failure remove everything this created."""
    created = _make_parents(target.parent)
    staging: Path | None = None
    done = False
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        _unpack_dist(archive, name, staging)
        staging.chmod(0o755)
        _move_into_place(staging, target)
        done = True
    except OSError as error:
        raise InstallError(f"could not install into {target}: {error}; {_NOTHING}") from None
    finally:
        if not done:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            for folder in reversed(created):
                with contextlib.suppress(OSError):
                    folder.rmdir()


def _make_parents(folder: Path) -> list[Path]:
    """``mkdir -p folder``; the directories it created, outermost first."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    created: list[Path] = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue  # made meanwhile by someone else: not ours to remove
        except OSError as error:
            for made in reversed(created):
                with contextlib.suppress(OSError):
                    made.rmdir()
            raise InstallError(f"could not create {path}: {error.strerror}; {_NOTHING}") from None
        created.append(path)
    return created


def _move_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``. An earlier install (checked by _check_replaceable) is
    moved aside first and deleted only once the new one is in place; restored otherwise."""
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    if not target.exists():
        os.rename(staging, target)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    aside.rmdir()
    os.rename(target, aside)
    try:
        os.rename(staging, target)
    except OSError:
        os.rename(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _unpack_dist(archive: IO[bytes], name: str, staging: Path) -> None:
    """Write the regular files under ``package/dist/`` into ``staging``; refuse the whole
    archive when any entry is unsafe (wherever it is) or the archive is corrupt."""
    written = 0
    try:
        with tarfile.open(fileobj=archive, mode="r:gz") as tar:
            for member in tar:
                relative = _dist_path(member, name)
                if relative is None:
                    continue
                destination = staging.joinpath(*relative.parts)
                if member.isdir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                written += member.size
                if written > MAX_UNPACKED:
                    raise InstallError(
                        f"{name} unpacks to more than {MAX_UNPACKED} bytes; {_NOTHING}"
                    )
                source = tar.extractfile(member)
                if source is None:  # pragma: no cover - a regular file always has data
                    raise InstallError(f"{name}: cannot read {member.name!r}; {_NOTHING}")
                destination.parent.mkdir(parents=True, exist_ok=True)
                with source, open(destination, "wb") as output:
                    shutil.copyfileobj(source, output, _CHUNK)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise InstallError(
            f"{name} is not a valid gzip-compressed tar archive ({error}); {_NOTHING}"
        ) from None
    if not (staging / CLIENT_FILE).is_file():
        raise InstallError(f"{name} has no package/dist/{CLIENT_FILE}; {_NOTHING}")


def _dist_path(member: tarfile.TarInfo, name: str) -> PurePosixPath | None:
    """The path of ``member`` inside ``package/dist/``, None for an entry elsewhere (skipped),
    or InstallError for an entry no archive of ours should hold."""
    reason = None
    posix = PurePosixPath(member.name)
    if "\\" in member.name or "\x00" in member.name:
        reason = "a backslash or NUL in its name"
    elif posix.is_absolute() or PureWindowsPath(member.name).anchor:
        reason = "an absolute path"
    elif ".." in posix.parts:
        reason = "a '..' path"
    elif member.issym() or member.islnk():
        reason = "a link"
    elif not (member.isfile() or member.isdir()):
        reason = "a device, pipe or other special file"
    if reason is not None:
        raise InstallError(f"{name} holds an unsafe entry {member.name!r} ({reason}); {_NOTHING}")
    parts = posix.parts
    if parts[:2] != ("package", "dist") or len(parts) < 3:
        return None
    return PurePosixPath(*parts[2:])
