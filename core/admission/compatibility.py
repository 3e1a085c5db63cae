"""Whether a spec's parts fit together: dataset, model, loss, optimizer, schedule, options. Checked at submit time,
no torch. Every problem says why and what would work."""

from pathlib import Path

from core.admission.losses import describe_dataset, loss_parameter_problems, loss_task_problem
from core.components import (
    MODELS,
    CifarCnn,
    EmbeddingBag,
    Lbfgs,
    LeNet,
    OneCycle,
    ReduceOnPlateau,
    SparseAdam,
    component_name,
)
from core.data_files import missing_files, missing_message
from core.errors import SpecProblem
from core.facts import DatasetFacts, dataset_facts, head_kind, recorded_metrics
from core.spec import JobSpec

INPUT_WORDS = {"features": "real-valued features", "images": "images", "tokens": "token ids"}


def _shape(facts: DatasetFacts) -> str:
    return "x".join(map(str, facts.input_shape))


def _model_problems(spec: JobSpec, facts: DatasetFacts) -> list[SpecProblem]:
    model, ds = spec.model, facts.label or spec.dataset.name
    inputs = type(model).inputs
    if facts.inputs not in inputs:
        use = "'embedding_bag'" if facts.inputs == "tokens" else "'mlp' or 'linear'"
        needs = " or ".join(INPUT_WORDS[i] for i in inputs)
        msg = f"model '{model.name}' needs {needs}, but dataset '{ds}' gives {INPUT_WORDS[facts.inputs]}: use {use}"
        return [SpecProblem(("model",), msg)]
    if isinstance(model, CifarCnn) and facts.input_shape != (3, 32, 32):
        msg = f"model 'cifar_cnn' needs 3x32x32 images, but dataset '{ds}' gives {_shape(facts)}: "
        return [SpecProblem(("model",), msg + "use 'synthetic_images' or 'cifar10', or model 'resnet18' or 'mlp'")]
    if isinstance(model, LeNet) and facts.input_shape[1:] not in ((28, 28), (32, 32)):
        msg = f"model 'lenet' needs 28x28 or 32x32 images, but dataset '{ds}' gives {_shape(facts)}: "
        return [SpecProblem(("model",), msg + "use 'mnist' or 'synthetic_images', or model 'resnet18' or 'mlp'")]
    if facts.task not in type(model).tasks:
        msg = f"model '{model.name}' is a classifier, but {describe_dataset(facts, ds)}: use model 'linear' or 'mlp'"
        return [SpecProblem(("model",), msg)]
    return []


def _sparse_problems(spec: JobSpec) -> list[SpecProblem]:
    """What sparse gradients (embedding_bag, sparse true) rule out: most optimizers, weight decay, value clipping."""
    optimizer, problems = spec.optimizer, []
    if not type(optimizer).sparse_gradients:
        msg = (
            f"model 'embedding_bag' with sparse true gives sparse gradients, which optimizer '{optimizer.name}' "
            "cannot take: use 'sparse_adam', 'sgd' or 'adagrad', or set the model's sparse to false"
        )
        problems.append(SpecProblem(("optimizer",), msg))
    if getattr(optimizer, "weight_decay", 0.0) > 0:
        msg = f"optimizer '{optimizer.name}' cannot decay sparse gradients: set weight_decay to 0, or sparse to false"
        problems.append(SpecProblem(("optimizer", "weight_decay"), msg))
    if spec.clip_grad_value is not None:
        msg = "clip_grad_value cannot clip sparse gradients: use clip_grad_norm, or set the model's sparse to false"
        problems.append(SpecProblem(("clip_grad_value",), msg))
    return problems


def _optimizer_problems(spec: JobSpec) -> list[SpecProblem]:
    optimizer, model = spec.optimizer, spec.model
    sparse = isinstance(model, EmbeddingBag) and model.sparse
    problems = _sparse_problems(spec) if sparse else []
    if isinstance(optimizer, SparseAdam) and not sparse:
        msg = (
            f"optimizer 'sparse_adam' takes only sparse gradients, but model '{model.name}' gives dense ones: "
            "use 'adam', or model 'embedding_bag' with sparse true on a token dataset ('synthetic_tokens')"
        )
        problems.append(SpecProblem(("optimizer",), msg))
    if isinstance(optimizer, Lbfgs) and spec.precision == "fp16":
        msg = (
            "optimizer 'lbfgs' cannot take fp16 loss scaling (its closure re-evaluates the loss): use 'bf16' or 'fp32'"
        )
        problems.append(SpecProblem(("precision",), msg))
    return problems


def _schedule_problems(spec: JobSpec, metrics: list[str]) -> list[SpecProblem]:
    scheduler, problems = spec.scheduler, []
    if isinstance(scheduler, OneCycle) and scheduler.cycle_momentum and not type(spec.optimizer).has_momentum:
        msg = (
            f"scheduler 'one_cycle' cycles momentum, which optimizer '{spec.optimizer.name}' does not have: "
            "set cycle_momentum to false, or use 'sgd', 'adam' or 'rmsprop'"
        )
        problems.append(SpecProblem(("scheduler", "cycle_momentum"), msg))
    if isinstance(scheduler, ReduceOnPlateau):
        problems += _metric_problem(("scheduler", "metric"), "reduce_on_plateau", scheduler.metric, metrics)
    if spec.early_stopping is not None:
        problems += _metric_problem(("early_stopping", "metric"), "early_stopping", spec.early_stopping.metric, metrics)
    return problems


def _metric_problem(loc: tuple[str, ...], who: str, metric: str, metrics: list[str]) -> list[SpecProblem]:
    watchable = [name for name in metrics if name != "lr"]
    if metric in watchable:
        return []
    msg = f"{who} watches '{metric}', which this job does not record: use one of {', '.join(watchable)}"
    return [SpecProblem(loc, msg)]


def _loop_problems(spec: JobSpec, facts: DatasetFacts) -> list[SpecProblem]:
    problems = []
    if facts.n_train < 2:
        problems.append(SpecProblem(("dataset", "val_fraction"), "val_fraction leaves fewer than 2 training samples"))
    pairs = head_kind(spec.loss, facts.task) in ("ranking", "embedding")
    if pairs and spec.batch_size == 1:
        msg = f"loss '{spec.loss.name}' pairs samples within a batch, so it needs batch_size 2 or more (or null)"
        problems.append(SpecProblem(("batch_size",), msg))
    if spec.precision == "fp16" and spec.device == "cpu":
        msg = "precision 'fp16' needs CUDA, but device is 'cpu': use 'bf16' or 'fp32', or device 'cuda' or 'auto'"
        problems.append(SpecProblem(("precision",), msg))
    return problems


def _memory_format_problems(spec: JobSpec, facts: DatasetFacts) -> list[SpecProblem]:
    """channels_last reorders 4-d image tensors for convolutions; a flattening or token model has none to reorder."""
    if not spec.channels_last or type(spec.model).convolutional:
        return []
    use = "use one of those models" + ("" if facts.inputs == "images" else " on an image dataset ('synthetic_images')")
    convolutional = ", ".join(component_name(cls) for cls in MODELS if cls.convolutional)
    msg = (
        f"channels_last needs a convolutional model on image inputs ({convolutional}), but model "
        f"'{spec.model.name}' is not convolutional: set channels_last to false, or {use}"
    )
    return [SpecProblem(("channels_last",), msg)]


def fit_problems(spec: JobSpec) -> list[SpecProblem]:
    """Every reason this spec's parts cannot train together (empty when they fit)."""
    facts = dataset_facts(spec.dataset)
    problems = _model_problems(spec, facts)
    task_problem = loss_task_problem(spec, facts)
    problems += [task_problem] if task_problem else loss_parameter_problems(spec, facts)
    problems += _optimizer_problems(spec)
    problems += _schedule_problems(spec, recorded_metrics(spec))
    return problems + _loop_problems(spec, facts) + _memory_format_problems(spec, facts)


def data_problems(spec: JobSpec, *, data_dir: Path, download: bool) -> list[SpecProblem]:
    """A torchvision dataset whose files are not in data_dir while downloading is off."""
    if download or not missing_files(spec.dataset.name, data_dir):
        return []
    return [SpecProblem(("dataset",), missing_message(spec.dataset.name, data_dir), "dataset_missing")]
