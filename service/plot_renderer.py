"""Where plot images are drawn: a few threads of their own, a bounded number of renders per user and in all, and a
cache of the pictures of ended jobs (which can no longer change)."""

import asyncio
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor

from core.settings import Settings


class RenderBusy(Exception):
    """No render slot is free for this user (or none at all): the caller answers 429."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class RenderSlots:
    """How many renders run now, in all and per user; taking a slot never waits."""

    def __init__(self, *, total: int, per_user: int) -> None:
        self.total, self.per_user = total, per_user
        self._lock = threading.Lock()
        self._held: Counter[str] = Counter()

    def take(self, user: str) -> None:
        """Hold one slot for this user, or raise RenderBusy saying which bound is reached."""
        with self._lock:
            if self._held[user] >= self.per_user:
                raise RenderBusy(f"{self.per_user} of this user's plots are being drawn already; ask again when done")
            if self._held.total() >= self.total:
                raise RenderBusy(f"the server is drawing {self.total} plots already, its most at a time")
            self._held[user] += 1

    def give_back(self, user: str) -> None:
        """One of this user's renders has ended."""
        with self._lock:
            self._held[user] -= 1
            if not self._held[user]:
                del self._held[user]


class ImageCache:
    """Least recently used images, within a budget of bytes."""

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._images: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable) -> bytes | None:
        """The image stored under this key, if any."""
        with self._lock:
            image = self._images.get(key)
            if image is not None:
                self._images.move_to_end(key)
            return image

    def put(self, key: Hashable, image: bytes) -> None:
        """Keep an image, dropping the least recently used ones to stay within the budget."""
        if len(image) > self.max_bytes:
            return
        with self._lock:
            if key in self._images:
                return
            self._images[key] = image
            self._bytes += len(image)
            while self._bytes > self.max_bytes:
                _, dropped = self._images.popitem(last=False)
                self._bytes -= len(dropped)


class PlotRenderer:
    """Draws images on its own threads, never on the event loop's nor on the pool the sync routes share."""

    def __init__(self, *, total: int, per_user: int, cache_bytes: int) -> None:
        self.slots = RenderSlots(total=total, per_user=per_user)
        self.cache = ImageCache(max_bytes=cache_bytes)
        self._executor = ThreadPoolExecutor(max_workers=total, thread_name_prefix="plot")

    @classmethod
    def from_settings(cls, settings: Settings) -> "PlotRenderer":
        """A renderer with the bounds the settings give."""
        return cls(
            total=settings.plot_concurrency,
            per_user=settings.plot_concurrency_per_user,
            cache_bytes=settings.plot_cache_bytes,
        )

    async def render(self, *, user: str, cache_key: Hashable | None, draw: Callable[[], bytes]) -> bytes:
        """The cached image for cache_key, else draw it in a slot of this user (RenderBusy when none is free)."""
        if cache_key is not None and (cached := self.cache.get(cache_key)) is not None:
            return cached
        self.slots.take(user)
        try:
            future = self._executor.submit(draw)
        except BaseException:
            self.slots.give_back(user)
            raise
        # The slot is given back when the drawing ends, not when the request does: a client that hangs up must not
        # free a slot while its picture is still being drawn.
        future.add_done_callback(lambda _: self.slots.give_back(user))
        image = await asyncio.wrap_future(future)
        if cache_key is not None:
            self.cache.put(cache_key, image)
        return image

    def close(self) -> None:
        """Stop taking work; renders under way finish on their threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)
