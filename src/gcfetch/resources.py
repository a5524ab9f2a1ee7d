"""Resource[T]: page / iterate_all / detail / list for one API endpoint; one small class each."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar, overload

import pydantic

from gcfetch import config, models, transfer
from gcfetch.errors import (
    MultipleObjectsReturned,
    ObjectNotFound,
    UnexpectedResponse,
)
from gcfetch.http import HttpSession, display_url
from gcfetch.paths import contained_target, dicom_file_name, file_extension, image_file_name

T = TypeVar("T", bound=models.Model)
M = TypeVar("M", bound=models.Model)

BASE_URL_HINT = "Is the base URL the API root, ending in /api/v1/?"


@dataclass(frozen=True)
class Malformed:
    """An object of a listing that does not have the expected shape: where it was, its raw
    JSON and why it was refused. `iterate_items` yields these in place of the object."""

    position: int  # 0-based, over the whole listing
    raw: Any
    error: UnexpectedResponse

    @property
    def pk(self) -> str | None:
        """The raw object's `pk`, if it has a string one."""
        pk = self.raw.get("pk") if isinstance(self.raw, dict) else None
        return pk if isinstance(pk, str) else None


class PageResult(Sequence[T]):
    """One page of a list: a sequence of models with `offset`, `limit` and `total_count`."""

    def __init__(self, items: list[T], *, offset: int, limit: int, total_count: int) -> None:
        self._items = items
        self.offset = offset
        self.limit = limit
        self.total_count = total_count

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return (
            f"PageResult(offset={self.offset}, limit={self.limit}, "
            f"total_count={self.total_count}, items={len(self._items)})"
        )


class Resource(Generic[T]):
    """Read access to one list endpoint below the base URL."""

    base_path: ClassVar[str]
    model: ClassVar[type[models.Model]]

    def __init__(self, http: HttpSession) -> None:
        self._http = http

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    @property
    def url(self) -> str:
        return self._http.base_url + self.base_path

    def list(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The raw JSON envelope of the first page: count, next, previous, results."""
        return self._get(self.url, dict(params or {}))

    def page(
        self,
        offset: int = 0,
        limit: int = config.DEFAULT_PAGE_LIMIT,
        params: Mapping[str, Any] | None = None,
    ) -> PageResult[T]:
        """One page of models; the caller's `params` are not changed."""
        body = self._get(self.url, {**(params or {}), "offset": offset, "limit": limit})
        results = _results(body, self.url)
        if type(body.get("count")) is not int:
            raise _unexpected(self.url, "count", "missing or not a whole number")
        return PageResult(
            [self._parse(item, self.url, f"results[{n}]") for n, item in enumerate(results)],
            offset=offset,
            limit=limit,
            total_count=body["count"],
        )

    def iterate_all(
        self, params: Mapping[str, Any] | None = None, *, ahead: int = 0
    ) -> Iterator[T]:
        """Every object, page by page, lazily, following `next` (no extra empty request).

        An object of the wrong shape raises UnexpectedResponse and ends the listing, as gcapi
        stops on it; `iterate_items` yields it instead and goes on (and says what `ahead` does).
        """
        for item in self.iterate_items(params, ahead=ahead):
            if isinstance(item, Malformed):
                raise item.error
            yield item

    def iterate_items(
        self, params: Mapping[str, Any] | None = None, *, ahead: int = 0
    ) -> Iterator[T | Malformed]:
        """Like `iterate_all`, but an object of the wrong shape is yielded as a `Malformed` and
        the listing goes on. A page of the wrong shape still raises UnexpectedResponse.

        With `ahead` > 0, once the first page gives `count`, the next `ahead` pages are fetched
        at once in the background while the caller works on this one; no more than `ahead`
        pages are held ahead of the caller. Pages are yielded in order either way."""
        position = 0
        for url, body in self._pages(params, ahead):
            for n, raw in enumerate(_results(body, url)):
                try:
                    yield self._parse(raw, url, f"results[{n}]")
                except UnexpectedResponse as exc:
                    yield Malformed(position, raw, exc)
                position += 1

    def _pages(self, params: Mapping[str, Any] | None, ahead: int) -> Iterator[tuple[str, Any]]:
        """(url, body) of each page: following `next`, or `ahead` pages at once by offset."""
        query = {"offset": 0, "limit": config.DEFAULT_PAGE_LIMIT, **(params or {})}
        url, body = self.url, self._get(self.url, query)
        if ahead > 0 and _next_url(body, url) and type(body.get("count")) is int:
            url, body = yield from self._pages_ahead(query, body, ahead)
        else:
            yield url, body
        while next_url := _next_url(body, url):
            url, body = next_url, self._get(next_url, None)
            yield url, body

    def _pages_ahead(
        self, query: dict[str, Any], first: Any, ahead: int
    ) -> Generator[tuple[str, Any], None, tuple[str, Any]]:
        """The first page, then the pages up to its `count`, `ahead` at a time; returns the last
        (url, body), whose `next` is followed on if the list grew meanwhile."""
        step = len(_results(first, self.url))  # the server may cap the limit asked for
        offsets = iter(range(step, first["count"], step))
        pool = ThreadPoolExecutor(ahead, thread_name_prefix="gcfetch-list")
        fetch = partial(self._get, self.url)
        try:
            window = deque(
                pool.submit(fetch, {**query, "offset": o}) for o in islice(offsets, ahead)
            )
            yield self.url, first
            last = first
            while window:
                last = window.popleft().result()
                if (offset := next(offsets, None)) is not None:
                    window.append(pool.submit(fetch, {**query, "offset": offset}))
                yield self.url, last
            return self.url, last
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def detail(self, pk: Any = None, api_url: str | None = None, **params: Any) -> T:
        """One object by `pk`, by `api_url`, or by filters (exactly one of the three).

        Filters must match exactly one object: none raises ObjectNotFound, several raise
        MultipleObjectsReturned.
        """
        if len([given for given in (pk, api_url, params) if given]) != 1:
            raise ValueError("Exactly one of pk, api_url or filter parameters must be given.")
        if pk:
            url = f"{self.url}{pk}/"
            return self._parse(self._get(url, None), url)
        if api_url:
            return self._parse(self._get(api_url, None), api_url)
        found = self.page(limit=2, params=params)
        if found.total_count == 0 or not found:
            raise ObjectNotFound(
                f"No object at {self.url} matches {params}; check the filter values.",
                url=self.url,
            )
        if found.total_count > 1 or len(found) > 1:
            raise MultipleObjectsReturned(
                f"{found.total_count} objects at {self.url} match {params}; "
                "add filters or look it up by pk."
            )
        return found[0]

    def _get(self, url: str, params: dict[str, Any] | None) -> Any:
        response = self._http.request("GET", url, params=params)
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type") or "no Content-Type"
            raise _unexpected(url, "", f"the body is not JSON ({kind})") from None

    def _parse(self, data: Any, url: str, field: str = "") -> T:
        """The model of `data`; UnexpectedResponse names `url` and the first wrong field."""
        return self._parse_as(self.model, data, url, field)  # type: ignore[return-value]

    @staticmethod
    def _parse_as(model: type[M], data: Any, url: str, field: str = "") -> M:
        try:
            return models.from_api(model, data)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            raise _unexpected(url, _field_name(field, first["loc"]), first["msg"]) from exc


def _next_url(body: Any, url: str) -> str | None:
    """The `next` page's URL of a list body; None at the end (or after an empty page)."""
    next_url = body.get("next") if isinstance(body, dict) else None
    if not next_url or not body.get("results"):
        return None
    if not isinstance(next_url, str):
        raise _unexpected(url, "next", "not a URL")
    return next_url


def _results(body: Any, url: str) -> list[Any]:
    """The `results` list of a list body."""
    if not isinstance(body, dict):
        raise _unexpected(url, "", f"a JSON {type(body).__name__}, not an object with results")
    if not isinstance(body.get("results"), list):
        raise _unexpected(url, "results", "missing or not a list")
    return body["results"]


def _field_name(prefix: str, loc: tuple[int | str, ...]) -> str:
    """A pydantic `loc` as a path: ("outputs", 0, "slug") -> `outputs[0].slug`, after `prefix`."""
    name = prefix
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name


def _unexpected(url: str, field: str, problem: str) -> UnexpectedResponse:
    where = f" at {field}" if field else ""
    shown = display_url(url)
    return UnexpectedResponse(
        f"The answer from {shown} has an unexpected shape{where}: {problem}. {BASE_URL_HINT}",
        field=field,
        url=shown,
    )


class Algorithms(Resource[models.Algorithm]):
    base_path = "algorithms/"
    model = models.Algorithm


class AlgorithmImages(Resource[models.AlgorithmImage]):
    base_path = "algorithms/images/"
    model = models.AlgorithmImage


class AlgorithmJobs(Resource[models.Job]):
    base_path = "algorithms/jobs/"
    model = models.Job


class Interfaces(Resource[models.Socket]):
    base_path = "components/interfaces/"
    model = models.Socket


class Archives(Resource[models.Archive]):
    base_path = "archives/"
    model = models.Archive


class ArchiveItems(Resource[models.ArchiveItem]):
    base_path = "archives/items/"
    model = models.ArchiveItem


class DisplaySets(Resource[models.DisplaySet]):
    base_path = "reader-studies/display-sets/"
    model = models.DisplaySet


class ReaderStudies(Resource[models.ReaderStudy]):
    base_path = "reader-studies/"
    model = models.ReaderStudy

    def __init__(self, http: HttpSession) -> None:
        super().__init__(http)
        self.display_sets = DisplaySets(http)


class Images(Resource[models.Image]):
    base_path = "cases/images/"
    model = models.Image

    def __init__(
        self, http: HttpSession, fetch: Callable[[transfer.Source, Path], object] | None = None
    ) -> None:
        super().__init__(http)
        # how one file is downloaded: the Client passes its download_file (its segment options)
        self._fetch = fetch or (lambda url, target: transfer.download(http, url, target))

    def download(
        self,
        *,
        output_directory: str | Path | None = None,
        filename: str | Path | None = None,
        image_type: str | Enum | None = None,
        pk: str | None = None,
        url: str | None = None,
        files: Sequence[models.ImageFile | Mapping[str, Any]] | None = None,
        **params: Any,
    ) -> list[Path]:
        """Download an image's files, streamed and atomic; returns the written paths.

        gcapi 0.14+ form (with `output_directory`): each file goes to
        `<output_directory>/<filename or image pk>.<ext>` ("image" when `files=` is given) and an
        existing file raises FileExistsError. gcapi 0.13 form (`filename` only): each file goes
        to `<filename's parent>/<filename's name>.<ext>`, overwriting. `ext` is everything after
        the last "." of the file URL's path. `image_type` ("MHD", "TIFF", "DZI", or gcapi's
        enum) is compared case-insensitively, which fixes gcapi's bug that made it match nothing.
        A server-supplied name that is not a safe file name (image pk, URL extension) raises
        UnsafePathError before anything is written.
        """
        if len([given for given in (pk, url, files, params) if given]) != 1:
            raise ValueError("Exactly one of pk, url, files or params must be specified.")
        image = None if files else self.detail(pk=pk) if pk else self.detail(api_url=url, **params)
        if image is not None and image.dicom_image_set:
            return self._download_dicom(image.pk, output_directory, filename)
        image_pk, listed = self._image_files(image, files)
        selected = _of_type(listed, image_type)
        if output_directory is not None:
            directory = Path(output_directory)
            targets = _targets_0_14(selected, directory, filename, image_pk)
            return self._write(selected, directory, targets, overwrite=False)
        if filename is None:
            raise TypeError(
                "images.download() needs output_directory= (gcapi 0.14+) or filename= (gcapi 0.13)."
            )
        base = Path(filename).absolute()
        return self._write(selected, base.parent, _targets_0_13(selected, base), overwrite=True)

    def _image_files(
        self,
        image: models.Image | None,
        files: Sequence[models.ImageFile | Mapping[str, Any]] | None,
    ) -> tuple[str | None, list[models.ImageFile]]:
        """(image pk, its files): `files` as given (no pk), else those of `image`."""
        if image is None:
            return None, [
                models.ImageFile.model_validate(f, from_attributes=True) for f in files or ()
            ]
        return image.pk, list(image.files)

    def dicom_instances(self, pk: str) -> list[models.DicomInstance]:
        """The instances of a DICOM image set, each once: GC lists one per frame, so a
        multi-frame instance repeats (the first listing of each SOP instance UID is kept)."""
        url = f"{self.url}{pk}/dicom/instances/"
        body = self._get(url, None)
        listed = body.get("instances") if isinstance(body, dict) else None
        if not isinstance(listed, list):
            raise _unexpected(url, "instances", "missing or not a list")
        unique: dict[str, models.DicomInstance] = {}
        for n, raw in enumerate(listed):
            instance = self._parse_as(models.DicomInstance, raw, url, f"instances[{n}]")
            unique.setdefault(instance.sop_instance_uid, instance)
        return list(unique.values())

    def instance_request(self, pk: str, instance: models.DicomInstance) -> transfer.SignedRequest:
        """The SignedRequest of one instance; renewing it lists the instances again."""
        sop = instance.sop_instance_uid
        request = instance.get_instance

        def renew() -> transfer.SignedRequest:
            fresh = {i.sop_instance_uid: i for i in self.dicom_instances(pk)}
            if sop not in fresh:
                raise ObjectNotFound(f"Image {pk} no longer lists DICOM instance {sop}.")
            return self.instance_request(pk, fresh[sop])

        key = f"{self.url}{pk}/dicom/instances/#{sop}"
        return transfer.SignedRequest(key, request.url, dict(request.headers), renew)

    def _download_dicom(
        self, pk: str, output_directory: str | Path | None, filename: str | Path | None
    ) -> list[Path]:
        """gcapi 0.16: each instance to `<output_directory>/<sop instance uid>.dcm`; an existing
        file raises FileExistsError. Names are checked before anything is written."""
        if output_directory is None or filename is not None:
            raise ValueError(
                f"Image {pk} is a DICOM image set: give output_directory= and no filename "
                "(each instance is saved as <SOP instance UID>.dcm)."
            )
        directory = Path(output_directory)
        instances = self.dicom_instances(pk)
        names = [dicom_file_name(i.sop_instance_uid) for i in instances]
        targets = [contained_target(directory.resolve(), [n], shown=n) for n in names]
        directory.mkdir(parents=True, exist_ok=True)
        for instance, target in zip(instances, targets, strict=True):
            if target.exists():
                raise FileExistsError(f"{target} already exists; remove it or pick another place.")
            self._fetch(self.instance_request(pk, instance), target)
        return targets

    def _write(
        self,
        files: list[models.ImageFile],
        directory: Path,
        targets: list[Path],
        *,
        overwrite: bool,
    ) -> list[Path]:
        """Download each file to its target; unless `overwrite`, an existing target raises."""
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for file, target in zip(files, targets, strict=True):
            if not overwrite and target.exists():
                raise FileExistsError(f"{target} already exists; remove it or pick another place.")
            self._fetch(file.file, target)
            written.append(target)
        return written


def _targets_0_13(files: list[models.ImageFile], base: Path) -> list[Path]:
    """gcapi 0.13: `<base's parent>/<base's name>.<ext>`; `base` is the caller's own path."""
    return [base.parent / f"{base.name}.{file_extension(f.file)}" for f in files]


def _targets_0_14(
    files: list[models.ImageFile],
    directory: Path,
    filename: str | Path | None,
    image_pk: str | None,
) -> list[Path]:
    """gcapi 0.14+: `<directory>/<filename, image pk or "image">.<ext>`, checked before anything
    is written: the server's image pk and URL extensions must make safe names (UnsafePathError);
    a caller-given `filename` is the caller's own, used as gcapi uses it."""
    if filename:
        return [directory / f"{filename}.{file_extension(f.file)}" for f in files]
    root = directory.resolve()
    targets = []
    for file in files:
        name = image_file_name("image" if image_pk is None else image_pk, file.file)
        contained_target(root, [name], shown=name)  # no existing symlink leading outside
        targets.append(directory / name)
    return targets


def _of_type(
    files: list[models.ImageFile], image_type: str | Enum | None
) -> list[models.ImageFile]:
    """The files of `image_type` ("MHD" for "mhd", "MHD", or an enum whose value is "MHD")."""
    if not image_type:
        return files
    wanted = str(getattr(image_type, "value", image_type)).upper()
    return [file for file in files if file.image_type.upper() == wanted]
