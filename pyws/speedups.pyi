from collections.abc import Callable

def apply_mask(data: bytes | bytearray | memoryview, mask: bytes) -> bytes: ...
def mask_frame(
    b0: int, payload: bytes | bytearray | memoryview, mask: bytes
) -> bytes: ...
def deliver_frames(
    buf: bytes | bytearray | memoryview,
    pos: int,
    is_server: bool,
    max_payload: int,
    check_utf8: bool,
    on_message: Callable[[bytes, bool], object],
    receiver: object,
    /,
) -> int: ...
