"""The job spec: what a client POSTs to /jobs, validated strictly before anything is stored."""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from core.bounds import INT_MAX
from core.components import (
    COMPONENTS,
    PLURAL,
    DatasetSpec,
    LossSpec,
    ModelSpec,
    OptimizerSpec,
    SchedulerSpec,
)
from core.components.naming import name_normalizer


def _normalize_name(kind: str) -> BeforeValidator:
    return BeforeValidator(name_normalizer(kind, PLURAL[kind], COMPONENTS[kind]))


Dataset = Annotated[DatasetSpec, Field(discriminator="name"), _normalize_name("dataset")]
Model = Annotated[ModelSpec, Field(discriminator="name"), _normalize_name("model")]
Loss = Annotated[LossSpec, Field(discriminator="name"), _normalize_name("loss")]
Optimizer = Annotated[OptimizerSpec, Field(discriminator="name"), _normalize_name("optimizer")]
Scheduler = Annotated[SchedulerSpec, Field(discriminator="name"), _normalize_name("scheduler")]

MAX_EPOCHS = 100_000
# A pool names a Celery queue and shows in URLs: lower-case, short, no dots (the queue's separator).
POOL_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
Priority = Literal["low", "normal", "high"]
PRIORITY_RANK: dict[Priority, int] = {"low": 0, "normal": 1, "high": 2}  # as stored in job.priority
PRIORITY_NAME: dict[int, Priority] = {rank: name for name, rank in PRIORITY_RANK.items()}


def _not_blank(name: str) -> str:
    if not name.strip():
        raise PydanticCustomError(
            "name_blank", "the name is blank: give one with a visible character, or leave it out for the default"
        )
    return name


class EarlyStopping(BaseModel):
    """Stop when a recorded metric has not improved by min_delta for patience epochs; the job still succeeds."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, strict=True)

    metric: str = Field(default="val_loss", max_length=100, description="A metric the job records, e.g. val_loss.")
    mode: Literal["auto", "min", "max"] = Field(default="auto", description="auto: max for accuracies, F1 and R^2.")
    patience: int = Field(default=5, ge=1, le=100_000, description="Epochs without improvement before stopping.")
    min_delta: float = Field(default=0.0, ge=0.0, le=1e9, description="The least change that counts as better.")


class JobSpec(BaseModel):
    """A training job: dataset, model, loss, optimizer, optional scheduler and the loop's hyperparameters."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        frozen=True,
        strict=True,  # a number is a JSON number: `true` and `"3"` are refused, not coerced
        json_schema_extra={
            "examples": [
                {
                    "name": "thermometer-linear-sgd",
                    "dataset": {"name": "thermometer", "val_fraction": 0.0, "normalize": "standard"},
                    "model": {"name": "linear"},
                    "loss": {"name": "mse"},
                    "optimizer": {"name": "sgd", "lr": 0.01},
                    "epochs": 5000,
                    "batch_size": None,
                }
            ]
        },
    )

    name: Annotated[str, AfterValidator(_not_blank)] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A label for people; defaults to dataset-model-optimizer.",
    )
    dataset: Dataset
    model: Model
    loss: Loss
    optimizer: Optimizer
    scheduler: Scheduler | None = None
    epochs: int = Field(default=10, ge=1, le=MAX_EPOCHS)
    batch_size: int | None = Field(default=64, ge=1, le=1_000_000, description="Samples per step; null: full batch.")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", description="auto: CUDA when present, else CPU.")
    precision: Literal["fp32", "bf16", "fp16"] = Field(
        default="fp32", description="Autocast precision: bf16 on CUDA or CPU, fp16 on CUDA only (with loss scaling)."
    )
    channels_last: bool = Field(
        default=False,
        description="Model and image batches in channels-last memory format (convolutional models only); "
        "a speed-up on CUDA, above all with bf16; the same numbers on any device.",
    )
    compile: bool = Field(
        default=False,
        description="Wrap the model in torch.compile (default mode): it compiles for seconds to minutes before the "
        "first step, then steps faster; for long jobs, best on CUDA.",
    )
    early_stopping: EarlyStopping | None = None
    clip_grad_norm: float | None = Field(
        default=None, gt=0.0, le=1e6, description="Clip the gradients' 2-norm to this."
    )
    clip_grad_value: float | None = Field(default=None, gt=0.0, le=1e6, description="Clip each gradient to +/-this.")
    log_every_steps: int | None = Field(
        default=None, ge=1, le=10_000_000, description="Also record train_loss and lr every this many steps."
    )
    max_restarts: int = Field(
        default=3, ge=0, le=20, description="How often a job whose worker was lost is started again before it fails."
    )
    priority: Priority = Field(
        default="normal", description="low, normal or high: the order within the pool (high may be for admins only)."
    )
    pool: str = Field(
        default="default",
        pattern=POOL_PATTERN,
        description="The pool of workers that runs the job (`gradyard worker --pool NAME`).",
    )
    max_runtime_seconds: int | None = Field(
        default=None,
        ge=1,
        le=INT_MAX,
        description="Running time after which the job checkpoints and fails (timed_out).",
    )

    def display_name(self) -> str:
        """The job's name, or one made from its components."""
        return self.name or f"{self.dataset.name}-{self.model.name}-{self.optimizer.name}"
