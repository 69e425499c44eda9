"""OData paging with dlt's paginators: `@odata.nextLink` while the service sends one (dlt's
JSON-link paginator), else `$top`/`$skip` until a short page (dlt's offset paginator)."""

from __future__ import annotations

from typing import Any

from dlt.sources.helpers.rest_client.paginators import (
    BasePaginator,
    JSONLinkPaginator,
    OffsetPaginator,
)
from requests import Request, Response

NEXT_LINK = "@odata.nextLink"


class ShortPageOffsetPaginator(OffsetPaginator):
    """`$skip` paging that stops after a page with fewer than `$top` records (OData sends no
    total unless asked, and asking makes the service count every page)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit=limit, offset_param="$skip", limit_param="$top", total_path=None)

    def _stop_after_this_page(self, data: list[Any] | None = None) -> bool:
        return not data or len(data) < self.limit


class ODataPaginator(BasePaginator):
    """Follows the service: the first page decides between nextLink and $skip paging."""

    def __init__(self, page_size: int) -> None:
        super().__init__()
        self.link = JSONLinkPaginator(next_url_path=f"['{NEXT_LINK}']")
        self.offset = ShortPageOffsetPaginator(page_size)
        self.mode: str | None = None  # "nextLink" or "$skip" once the first page is in

    def init_request(self, request: Request) -> None:
        self.offset.init_request(request)  # $top and $skip=0 on the first request

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        if self.mode is None:
            self.mode = "nextLink" if NEXT_LINK in response.json() else "$skip"
        active = self.link if self.mode == "nextLink" else self.offset
        active.update_state(response, data)
        self._has_next_page = active.has_next_page

    def update_request(self, request: Request) -> None:
        (self.link if self.mode == "nextLink" else self.offset).update_request(request)

    def __str__(self) -> str:
        return f"ODataPaginator(mode={self.mode})"
