"""The stage error names (docs/architecture.md §6) as exception classes; Step Functions Retry/Catch
and the breakers match `.name`."""

from __future__ import annotations


class StageError(Exception):
    """A failure reported to the orchestrator as `{"error": name, "cause": cause}`."""

    name = "Stage.Failed"

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause

    def failure(self) -> dict[str, str]:
        return {"error": self.name, "cause": self.cause}


class InvalidInput(StageError):
    name = "Stage.InvalidInput"


class ModelUnavailable(StageError):
    name = "Stage.ModelUnavailable"


class OutOfMemory(StageError):
    name = "Stage.OutOfMemory"


class Timeout(StageError):
    name = "Stage.Timeout"


class Unavailable(StageError):
    name = "Stage.Unavailable"


class Failed(StageError):
    name = "Stage.Failed"


def _is_torch_oom(exc: BaseException) -> bool:
    try:
        import torch
    except ImportError:
        return False
    oom_type = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    # Older torch raised a plain RuntimeError for CUDA OOM.
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def as_stage_error(exc: BaseException) -> StageError:
    """Classifies any exception; unknown ones become Stage.Failed with a short cause."""
    if isinstance(exc, StageError):
        return exc
    if isinstance(exc, MemoryError) or _is_torch_oom(exc):
        return OutOfMemory(f"{type(exc).__name__}: {exc}"[:1000])
    if isinstance(exc, TimeoutError):
        return Timeout(f"{type(exc).__name__}: {exc}"[:1000])
    return Failed(f"{type(exc).__name__}: {exc}"[:1000])
