"""Train a logistic regression with plain numpy and log it to crayon-bridge.

    python -m crayon_bridge --logdir runs &        # the bridge, with TensorBoard on :8888
    python examples/train_numpy.py --steps 300     # then open http://127.0.0.1:8888

Logs, through `SummaryWriter`: the loss and accuracy on the training and validation sets (tags
`loss/train`, `loss/val`, ...), the learning rate, and histograms of the weights and of their
gradient. With 100 features, 5 of them useful, and 400 training samples, it overfits: the
validation loss turns up while the training loss keeps going down.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crayon_bridge.client import SummaryWriter


def make_data(rng: np.random.Generator, samples: int, features: int) -> tuple[np.ndarray, ...]:
    """Two noisy classes that only 5 of the features tell apart: a model that overfits."""
    true_weights = np.zeros(features)
    true_weights[:5] = 2.0 * rng.normal(size=5)
    inputs = rng.normal(size=(samples, features))
    labels = (inputs @ true_weights + 1.5 * rng.normal(size=samples) > 0).astype(np.float64)
    split = samples * 4 // 5
    return inputs[:split], labels[:split], inputs[split:], labels[split:]


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """The logistic function, safe for large |logits|."""
    return 0.5 * (1.0 + np.tanh(0.5 * logits))


def loss_and_accuracy(
    weights: np.ndarray, bias: float, inputs: np.ndarray, labels: np.ndarray
) -> tuple[float, float]:
    """Mean binary cross-entropy and accuracy."""
    probabilities = np.clip(sigmoid(inputs @ weights + bias), 1e-12, 1 - 1e-12)
    loss = -np.mean(labels * np.log(probabilities) + (1 - labels) * np.log(1 - probabilities))
    accuracy = np.mean((probabilities > 0.5) == labels)
    return float(loss), float(accuracy)


def train(url: str, experiment: str, steps: int, token: str | None = None) -> float:
    """Run minibatch gradient descent, logging every step; return the final validation loss."""
    rng = np.random.default_rng(0)
    train_x, train_y, val_x, val_y = make_data(rng, samples=500, features=100)
    weights = np.zeros(train_x.shape[1])
    bias = 0.0
    with SummaryWriter(url, experiment, token=token) as writer:
        for step in range(steps):
            batch = rng.integers(0, len(train_y), size=32)
            learning_rate = 0.2 * 0.5 ** (step / max(steps, 1))
            error = sigmoid(train_x[batch] @ weights + bias) - train_y[batch]
            gradient = train_x[batch].T @ error / len(batch)
            weights -= learning_rate * gradient
            bias -= learning_rate * float(np.mean(error))

            train_loss, train_accuracy = loss_and_accuracy(weights, bias, train_x, train_y)
            val_loss, val_accuracy = loss_and_accuracy(weights, bias, val_x, val_y)
            writer.add_scalars("loss", {"train": train_loss, "val": val_loss}, step)
            writer.add_scalars("accuracy", {"train": train_accuracy, "val": val_accuracy}, step)
            writer.add_scalar("learning_rate", learning_rate, step)
            if step % 10 == 0:
                writer.add_histogram("weights", weights, step)
                writer.add_histogram("gradient", gradient, step)
    if writer.dropped:
        print(f"warning: {writer.dropped} points were not delivered", file=sys.stderr)
    print(
        f"{experiment}: {steps} steps, val loss {val_loss:.4f}, val accuracy {val_accuracy:.3f}, "
        f"{writer.delivered} points delivered to {writer.url}"
    )
    return val_loss


def main(argv: list[str] | None = None) -> int:
    """Parse the options and train."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", default="http://127.0.0.1:8889", help="the bridge")
    parser.add_argument("--experiment", default="logistic-regression", help="experiment name")
    parser.add_argument("--steps", type=int, default=300, help="gradient steps")
    parser.add_argument("--token", default=None, help="the bridge's access token, if any")
    args = parser.parse_args(argv)
    train(args.url, args.experiment, args.steps, args.token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
