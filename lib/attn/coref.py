"""A tiny synthetic coreference task and a one-layer attention model (chapters 6-7).

Sentences such as ``the cat chased the dogs near the river and its tail moved .``: one singular and one
plural noun, then the pronoun ``its`` or ``their``, whose referent is the noun that agrees with it in number
(the rule that decides the answer). A model that must name the referent at the pronoun's position can only
find it by attending from the pronoun to the right noun, so its attention map can be read, and checked.

Used by chapter 6 (one head, one job: name the referent) and chapter 7 (a second job at the same position:
also name the other noun; one head cannot look at both nouns sharply at once, two heads can).
The model has no positional information: the rule (number agreement) does not need word order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from attn.mha import MultiHeadAttention

SINGULAR = ["cat", "dog", "bird", "fox", "horse", "goat"]
PLURAL = ["cats", "dogs", "birds", "foxes", "horses", "goats"]
VERBS = ["chased", "saw", "followed", "watched"]
THINGS = ["tail", "bed", "food", "home"]
PLACES = ["river", "barn", "hill"]
ENDINGS = ["moved", "was", "looked"]
PAD = "<pad>"
VOCAB = [PAD, "the", "and", "near", ".", "its", "their"] + SINGULAR + PLURAL + VERBS + THINGS + PLACES + ENDINGS
INDEX = {w: i for i, w in enumerate(VOCAB)}


@dataclass
class Batch:
    """Token ids (B, n), lengths (B,), and per sentence: positions of the pronoun, its referent and the other noun, and their ids."""

    tokens: torch.Tensor
    lengths: torch.Tensor
    pronoun: torch.Tensor
    referent_pos: torch.Tensor
    referent: torch.Tensor
    other_pos: torch.Tensor
    other: torch.Tensor

    def __getitem__(self, rows) -> "Batch":
        """The sentences ``rows`` (an index tensor), as a smaller batch."""
        return Batch(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))

    def words(self, i: int) -> list[str]:
        """Sentence ``i`` as words, without padding."""
        return [VOCAB[t] for t in self.tokens[i, : self.lengths[i]].tolist()]


def sentence(rng: np.random.Generator) -> tuple[list[str], int, int]:
    """One sentence, the position of its pronoun and the position of the noun it refers to."""
    nouns = [SINGULAR[rng.integers(len(SINGULAR))], PLURAL[rng.integers(len(PLURAL))]]
    if rng.random() < 0.5:
        nouns.reverse()
    words = ["the", nouns[0], VERBS[rng.integers(len(VERBS))], "the", nouns[1]]
    if rng.random() < 0.5:  # an optional clause, so that sentences have different lengths (padding)
        words += ["near", "the", PLACES[rng.integers(len(PLACES))]]
    plural = rng.random() < 0.5
    pronoun = "their" if plural else "its"
    referent_pos = 1 if (nouns[0] in PLURAL) == plural else 4
    words += ["and", pronoun, THINGS[rng.integers(len(THINGS))], ENDINGS[rng.integers(len(ENDINGS))], "."]
    return words, words.index(pronoun), referent_pos


def make_batch(n_sentences: int, seed: int) -> Batch:
    """``n_sentences`` random sentences (seeded), padded to the longest with ``<pad>``."""
    rng = np.random.default_rng(seed)
    rows = [sentence(rng) for _ in range(n_sentences)]
    n = max(len(w) for w, _, _ in rows)
    tokens = torch.full((n_sentences, n), INDEX[PAD], dtype=torch.long)
    for b, (words, _, _) in enumerate(rows):
        tokens[b, : len(words)] = torch.tensor([INDEX[w] for w in words])
    idx = torch.arange(n_sentences)
    referent_pos = torch.tensor([r for _, _, r in rows])
    other_pos = 5 - referent_pos  # the nouns are at positions 1 and 4
    return Batch(tokens=tokens, lengths=torch.tensor([len(w) for w, _, _ in rows]),
                 pronoun=torch.tensor([p for _, p, _ in rows]), referent_pos=referent_pos,
                 referent=tokens[idx, referent_pos], other_pos=other_pos, other=tokens[idx, other_pos])


TASKS = ("referent", "other")


class OneLayerAttentionModel(nn.Module):
    """Embed the tokens, one multi-head self-attention layer, and at the pronoun a linear read-out per task.

    Task "referent": name the noun the pronoun refers to; task "other": name the other noun. Each is a
    classification over the vocabulary, read from the attention output at the pronoun's position only.
    There is no residual connection: the read-out sees only what attention fetched.
    """

    def __init__(self, d_model: int = 32, h: int = 1, tasks: tuple[str, ...] = ("referent",)):
        super().__init__()
        self.tasks = tuple(tasks)
        self.embed = nn.Embedding(len(VOCAB), d_model)
        nn.init.normal_(self.embed.weight, std=d_model ** -0.5)  # unit-norm tokens: scores start small
        self.attn = MultiHeadAttention(d_model, h)
        self.readouts = nn.ModuleDict({t: nn.Linear(d_model, len(VOCAB)) for t in self.tasks})

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor, pronoun: torch.Tensor):
        """Logits per task (B, vocabulary) at the pronoun, and all attention weights (B, h, n, n)."""
        n = tokens.shape[1]
        x = self.embed(tokens)  # (B, n, d_model)
        mask = (torch.arange(n) < lengths[:, None])[:, None, :]  # (B, 1, n): True = real token, not padding
        y, weights = self.attn(x, mask=mask)  # (B, n, d_model), (B, h, n, n)
        at_pronoun = y[torch.arange(len(tokens)), pronoun]  # (B, d_model)
        return {t: r(at_pronoun) for t, r in self.readouts.items()}, weights


def _loss(model, batch):
    logits, _ = model(batch.tokens, batch.lengths, batch.pronoun)
    return sum(nn.functional.cross_entropy(logits[t], getattr(batch, t)) for t in model.tasks)


def train(model: OneLayerAttentionModel, steps: int = 300, batch_size: int = 64, lr: float = 1e-2,
          n_train: int = 2000, seed: int = 0, progress: bool = True) -> list[float]:
    """Adam on minibatches drawn from ``n_train`` training sentences (seeded); return the loss of every step."""
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    data = make_batch(n_train, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    bar = tqdm(range(steps), desc="training", disable=not progress)
    for _ in bar:
        loss = _loss(model, data[torch.randint(n_train, (batch_size,))])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        bar.set_postfix({"loss, mean of last 20 steps": f"{np.mean(losses[-20:]):.3f}"}, refresh=False)
    return losses


@torch.no_grad()
def evaluate(model: OneLayerAttentionModel, batch: Batch) -> dict:
    """Accuracy of each task, and the mean attention weight each head puts on the referent and on the other noun."""
    model.eval()
    logits, weights = model(batch.tokens, batch.lengths, batch.pronoun)  # weights (B, h, n, n)
    idx = torch.arange(len(batch.tokens))
    result = {f"{t}_accuracy": (logits[t].argmax(-1) == getattr(batch, t)).float().mean().item() for t in model.tasks}
    result["weight_on_referent"] = weights[idx, :, batch.pronoun, batch.referent_pos].mean(0).numpy()  # (h,)
    result["weight_on_other"] = weights[idx, :, batch.pronoun, batch.other_pos].mean(0).numpy()  # (h,)
    result["weights"] = weights.numpy()
    return result
