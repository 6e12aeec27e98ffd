"""Survivors of ``benchmarks/mutation.py``: mutants of the reference that no hidden case tells apart.

``EQUIVALENT`` lists the ones that cannot change a graded output on any input the notebook allows, each with
the reason. Every other survivor of the first run got a new hidden case instead; ``KILLED_BY_NEW_CASES``
records them, and ``tests/test_mutants.py`` re-creates each of those mutant kinds by hand and checks, on a
fixed seed, that the hidden cases now tell it apart from the reference.

Names are mutmut's (``<module>.x_<function>__mutmut_<n>``), stable as long as the reference file is unchanged.
"""

_PRECISION = ("only changes which float type an input is converted to (float32 kept or raised to float64, integers "
              "kept or converted); the grader compares at float32-level tolerance and the notebooks accept either "
              "precision, and every operation that follows gives the same values for integers as for floats")

_INT_RANGE = ("an integer instead of a float64 range of small integers: every later operation mixes it with "
              "floats, so the values are exactly the same")
_RESHAPE = ("reshape(-2) instead of reshape(-1): NumPy (>= 2, as pinned) reads any negative size as 'infer this "
            "dimension', so the shape is the same")

_TWO_D = ("index +1 instead of -1 (or [:+1] instead of [:-1]): {what} is 2-D by the notebook's text, where the "
          "two name the same axis")
_INT_WIDTH = ("an integer array built without the input's integer dtype: int64 instead of, say, int32, with the "
              "same values")

_TIE = ("< instead of <= (or the reverse) against a uniform draw: the two differ only when the draw equals the "
        "threshold exactly, an event of probability about 2**-53 per draw")

EQUIVALENT: dict[str, str] = {
    # 03-qkv
    "autograder.grading.reference.qkv.x__float__mutmut_3": _PRECISION,
    "autograder.grading.reference.qkv.x__float__mutmut_4": _PRECISION,
    "autograder.grading.reference.qkv.x__float__mutmut_5": _PRECISION,
    "autograder.grading.reference.qkv.x__float__mutmut_6": _PRECISION,
    "autograder.grading.reference.qkv.x__float__mutmut_9": _PRECISION,
    "autograder.grading.reference.qkv.x_masked_softmax__mutmut_9": "mask keeps its own dtype instead of bool: the notebook "
        "says mask is boolean, and np.where reads a 0/1 mask the same way",
    "autograder.grading.reference.qkv.x_masked_softmax__mutmut_11": "same as mutmut_9 (dtype argument dropped)",
    "autograder.grading.reference.qkv.x_masked_softmax__mutmut_38": "the shift of an entirely masked row (0.0 -> 1.0): every "
        "entry of such a row is masked, so it is 0 whatever the shift",
    "autograder.grading.reference.qkv.x_cosine_scores__mutmut_34": "a zero query is divided by 2 instead of 1: still the zero "
        "vector, so its cosines stay 0",
    "autograder.grading.reference.qkv.x_cosine_scores__mutmut_45": "same as mutmut_34, for a zero key",
    # 01-glimpse
    **{f"autograder.grading.reference.glimpse.x__float__mutmut_{n}": _PRECISION for n in (3, 4, 5, 6, 9)},
    **{f"autograder.grading.reference.glimpse.x_extract_glimpse__mutmut_{n}": _PRECISION for n in (18, 20)},
    **{f"autograder.grading.reference.glimpse.x_gaussian_blur__mutmut_{n}": _PRECISION for n in (37, 39)},
    "autograder.grading.reference.glimpse.x_extract_glimpse__mutmut_46": "r0 <= r1 instead of r0 < r1: when they are equal "
        "the copied slice is empty, so copying it changes nothing",
    "autograder.grading.reference.glimpse.x_extract_glimpse__mutmut_47": "same as mutmut_46, for columns",
    "autograder.grading.reference.glimpse.x_block_average__mutmut_5": "shape[1] instead of shape[0]: block_average (not "
        "graded itself) only ever shrinks the square windows of multiscale_glimpse, whose two sides are equal",
    **{f"autograder.grading.reference.glimpse.x_gaussian_kernel1d__mutmut_{n}": _INT_RANGE for n in (11, 14)},
    **{f"autograder.grading.reference.glimpse.x_gaussian_attention_mask__mutmut_{n}": _INT_RANGE for n in (7, 9, 12, 14)},
    "autograder.grading.reference.glimpse.x_gaussian_attention_mask__mutmut_37": _RESHAPE,
    **{f"autograder.grading.reference.glimpse.x_soft_read__mutmut_{n}": _RESHAPE for n in (9, 15)},
    **{f"autograder.grading.reference.glimpse.x_hard_read__mutmut_{n}": _RESHAPE for n in (12, 18)},
    "autograder.grading.reference.glimpse.x_hard_read__mutmut_10": "reshape(None) keeps the shape, and np.argmax without "
        "an axis flattens anyway: the same index",
    # 02-seq2seq
    "autograder.grading.reference.seq2seq.x__sigmoid__mutmut_11": "x > 0 instead of x >= 0: at x = 0 both branches give 0.5",
    "autograder.grading.reference.seq2seq.x_encode__mutmut_12": _TWO_D.format(what="W_hh (3H, H)"),
    **{f"autograder.grading.reference.seq2seq.x_encode__mutmut_{n}": "the branch for an empty sentence (T = 0), which the "
       "text now excludes (every sentence has at least one token); asking for T = 0 instead would have cost points "
       "to correct answers written from the old text" for n in (43, 45, 47)},
    **{f"autograder.grading.reference.seq2seq.x_encode__mutmut_{n}": _PRECISION for n in (16, 18, 22, 23, 24, 25, 26, 44, 46)},
    "autograder.grading.reference.seq2seq.x_encode__mutmut_21": "h_0 of shape (H,) instead of (B, H) for a batch: it "
        "broadcasts against the batch in the first step, so every state is the same; the text allows tokens of "
        "shape (T,) or (B, T) only, where the two agree",
    **{f"autograder.grading.reference.seq2seq.x_teacher_forcing_inputs__mutmut_{n}": _INT_WIDTH for n in (6, 9)},
    **{f"autograder.grading.reference.seq2seq.x_greedy_decode__mutmut_{n}": "the token ids without an explicit int64: the "
        "same integers (only an empty result becomes float64, and the grader compares values, so still equal)"
        for n in (17, 19)},
    **{f"autograder.grading.reference.seq2seq.x__aligned__mutmut_{n}": _TWO_D.format(what="pred and target (B, T)")
       for n in (7, 9, 21, 24, 31)},
    "autograder.grading.reference.seq2seq.x__aligned__mutmut_11": "> instead of >=: when pred is exactly as long as target, "
        "the other branch pads it with 0 columns, the same array",
    **{f"autograder.grading.reference.seq2seq.x__aligned__mutmut_{n}": _INT_WIDTH for n in (16, 19)},
    "autograder.grading.reference.seq2seq.x_sequence_accuracy__mutmut_18": _TWO_D.format(what="pred and target (B, T)"),
    # 04-alignment
    **{f"autograder.grading.reference.alignment.x_{fn}__mutmut_{n}": "the mask keeps its dtype instead of bool here, and "
       "masked_softmax converts it to bool anyway (the notebook's masks are boolean)"
       for fn, n in (("bahdanau_context", 19), ("bahdanau_context", 21), ("attention_decoder_step", 15),
                     ("attention_decoder_step", 17))},
    "autograder.grading.reference.alignment.x_attention_decoder_step__mutmut_32": "the batch shape taken from the context "
        "alone: the context already carries s_t's batch axes (its scores come from s_t and H), so the broadcast "
        "with s_t's own batch shape adds nothing",
    # 05-variants
    "autograder.grading.reference.variants.x_hard_attention__mutmut_17": "no fresh generator when rng is None: the text "
        "makes sampling draw with the given rng, so sample=True always comes with one",
    **{f"autograder.grading.reference.variants.x_hard_attention__mutmut_{n}": "the drawn positions kept as floats: small "
       "integers are exact in float64 and are only compared with np.arange(n_k)" for n in (22, 24)},
    "autograder.grading.reference.variants.x_hard_attention__mutmut_31": "astype(None) is astype(float64)",
    "autograder.grading.reference.variants.x_hard_attention__mutmut_51": _PRECISION,
    **{f"autograder.grading.reference.variants.x_key_value_split__mutmut_{n}": "the check of d_k's range (or its message): "
       "the text promises 1 <= d_k <= d - 1, so no allowed input reaches the error" for n in (8, 9, 10, 11, 12)},
    "autograder.grading.reference.variants.x_attention_entropy__mutmut_14": "log 2 instead of log 1 at zero weights, then "
        "multiplied by that zero weight: the term is 0 either way",
    # 07-multihead
    "autograder.grading.reference.mha.x_split_heads__mutmut_5": "the message of the error for d_model not divisible by h: "
        "the text promises it is divisible, so no allowed input reaches it",
    **{f"autograder.grading.reference.mha.x_head_mask__mutmut_{n}": "the mask keeps its dtype here, and masked_softmax "
       "converts it to bool anyway (the notebook's masks are boolean)" for n in (3, 5)},
    **{f"autograder.grading.reference.mha.x_head_mask__mutmut_{n}": "a 2-d mask (n_q, n_k) left without the head axis: it "
       "broadcasts against (..., h, n_q, n_k) exactly as (1, n_q, n_k) does" for n in (8, 9)},
    # 08-transformer
    **{f"autograder.grading.reference.transformer.x__float__mutmut_{n}": _PRECISION for n in (3, 4, 5, 6, 9)},
    **{f"autograder.grading.reference.transformer.x_positional_encoding__mutmut_{n}": _INT_RANGE for n in (3, 5, 10, 14)},
    "autograder.grading.reference.transformer.x_label_smoothing_loss__mutmut_9": "target != None is True everywhere, so "
        "with pad=None every token is kept either way",
    "autograder.grading.reference.transformer.x_label_smoothing_loss__mutmut_32": "take_along_axis without axis: NumPy "
        "(>= 2.3, as installed) defaults to axis=-1, the same call",
    **{f"autograder.grading.reference.transformer.x_warmup_lr__mutmut_{n}": "integer steps kept as integers: the schedule "
       "mixes them with floats, so the values are the same" for n in (3, 5)},
    "autograder.grading.reference.transformer.x_warmup_lr__mutmut_6": "errstate(divide=None) leaves the setting as it is, "
        "and nothing is divided by zero there (steps are clamped to at least 1 first)",
    "autograder.grading.reference.transformer.x_warmup_lr__mutmut_16": "s >= 0 instead of s > 0: at step 0 the decay branch "
        "is 1 instead of inf, and min(1, 0) = min(inf, 0) = 0",
    "autograder.grading.reference.transformer.x_warmup_lr__mutmut_17": "s > 1 instead of s > 0: at step 1 the decay branch "
        "is inf instead of 1, and min(x, warmup ** -1.5) is warmup ** -1.5 either way since warmup >= 1",
    "autograder.grading.reference.transformer.x_warmup_lr__mutmut_39": "a 0-d array instead of a float for an integer step: "
        "the same number, and the grader compares numbers, not Python types",
    # 09-gpt-bert
    **{f"autograder.grading.reference.lm.x_mlm_mask__mutmut_{n}": _TIE for n in (5, 25, 36, 38)},
    "autograder.grading.reference.lm.x_sample_next__mutmut_75": _TIE,
    "autograder.grading.reference.lm.x_sample_next__mutmut_63": "cdf times its last entry instead of divided by it: that "
        "entry is 1 to within a few units in the last place, so the draw changes only if u falls within ~1e-16 "
        "of a boundary (probability ~1e-16 per draw)",
    "autograder.grading.reference.lm.x_mlm_mask__mutmut_12": "rng.integers(V, size=...) is rng.integers(0, V, size=...): "
        "the same range, the same draws",
    "autograder.grading.reference.lm.x_mlm_mask__mutmut_40": "the corrupted tokens as float64 instead of the input's integer "
        "dtype: the same numbers, and the grader compares numbers",
    **{f"autograder.grading.reference.lm.x_sample_next__mutmut_{n}": "an int for 1-d logits returned as a 0-d array: the "
       "same number, and the grader compares numbers, not Python types" for n in (15, 79)},
    **{f"autograder.grading.reference.lm.x_sample_next__mutmut_{n}": "the logits kept in their own dtype instead of float64: "
       "it matters only for float32 logits, which the hidden cases of sampling do not use on purpose (draws are "
       "compared exactly, and a correct float32 answer could then land on the other side of a boundary)"
       for n in (3, 5)},
    "autograder.grading.reference.lm.x_sample_next__mutmut_29": "0 <= top_k instead of 0 < top_k: differs only for "
        "top_k = 0, which the text now excludes (top_k is None or a positive integer)",
    "autograder.grading.reference.lm.x_sample_next__mutmut_30": "top_k <= V instead of top_k < V: with top_k = V the k-th "
        "largest is the smallest logit, so nothing is below it and every token is kept either way",
    "autograder.grading.reference.lm.x_sample_next__mutmut_35": "np.sort without axis sorts along the last axis by default",
    "autograder.grading.reference.lm.x_sample_next__mutmut_52": "softmax's default axis is -1",
    # 10-modern
    **{f"autograder.grading.reference.modern.x__as_float__mutmut_{n}": _PRECISION for n in (3, 6, 9)},
    **{f"autograder.grading.reference.modern.x__as_float__mutmut_{n}": "integer inputs kept as integers: it differs only "
       "for integer Q, K, V or x, and the notebook's arrays are float arrays (its own solution and every visible "
       "and hidden case give floats); float inputs are kept exactly as before" for n in (4, 5)},
    "autograder.grading.reference.modern.x__expand_kv__mutmut_13": "h / h_kv instead of h // h_kv: h_kv divides h (checked "
        "just above), so the float is a whole number and np.repeat repeats the same number of times",
    "autograder.grading.reference.modern.x__expand_kv__mutmut_6": "the message of the error for h_kv not dividing h: the "
        "text promises h_kv divides h, so no allowed input reaches it",
    **{f"autograder.grading.reference.modern.x_apply_rope__mutmut_{n}": _INT_RANGE for n in (18, 22)},
    **{f"autograder.grading.reference.modern.x_apply_rope__mutmut_{n}": "positions kept in their own dtype instead of "
       "float64: they are at once multiplied by the float64 frequencies, so the angles are the same"
       for n in (28, 30)},
    **{f"autograder.grading.reference.modern.x_apply_rope__mutmut_{n}": _PRECISION for n in (32, 34)},
    **{f"autograder.grading.reference.modern.x_blockwise_attention__mutmut_{n}": "the key mask keeps its dtype instead of "
       "bool: the notebook says key_mask is boolean, and & and np.where read a 0/1 mask the same way"
       for n in (127, 129)},
    "autograder.grading.reference.modern.x_blockwise_attention__mutmut_133": "the key mask not broadcast against (n_k,): "
        "the text's masks end in n_k (e.g. (B, 1, n_k) or (n_k,)), where that broadcast changes nothing",
    "autograder.grading.reference.modern.x_blockwise_attention__mutmut_170": "the shift of a query that sees nothing yet "
        "(0.0 -> 1.0): all its entries are masked, so their weights are 0 whatever the shift",
    "autograder.grading.reference.modern.x_blockwise_attention__mutmut_191": "rescale 1 instead of 0 while the running "
        "maximum is still -inf: the running sum and output are still 0 then, and 0 * 1 = 0 * 0",
    **{f"autograder.grading.reference.modern.x_blockwise_attention__mutmut_{n}": _PRECISION
       for n in (22, 23, 24, 25, 26, 27, 28, 52, 55, 61, 63, 68, 70)},
    **{f"autograder.grading.reference.modern.x_blockwise_attention__mutmut_{n}": "the batch shape of the running state "
       "taken without Q's, K's or V's leading axes: the first block's arithmetic broadcasts the state to the full "
       "batch shape anyway (n_k >= 1, so there is always a block)" for n in (40, 41, 42)},
    # @@NEXT@@
}

KILLED_BY_NEW_CASES: dict[str, str] = {
    **{f"autograder.grading.reference.transformer.x_log_softmax__mutmut_{n}": "one maximum over all tokens instead of per "
       "token: killed before only when the random '+-500' logits happened to differ enough between rows; new case "
       "'tokens with logits of very different sizes (+1000 and -1000)'" for n in (6, 9)},
    "autograder.grading.reference.lm.x_sample_next__mutmut_50": "one softmax over the whole array instead of per row: new "
        "case 'rows of very different sizes (+1000 and -1000)'",
    "autograder.grading.reference.transformer.x_label_smoothing_loss__mutmut_24": "ignored tokens looked up at class 1 "
        "instead of 0: new case 'a single class (C = 1) and pad = -100' (class 1 does not exist)",
    "autograder.grading.reference.transformer.x_warmup_lr__mutmut_25": "steps clamped to 2 instead of 1 before the decay: "
        "new case 'warmup = 1, steps 0 to 4' (at step 1 the decay branch decides)",
    **{f"autograder.grading.reference.mha.x_causal_mask__mutmut_{n}": "a 0/1 float mask instead of a boolean one: the "
       "masks of 06 are now compared as booleans ('return a boolean array'), by compare_boolean_mask"
       for n in (3, 5)},

    "autograder.grading.reference.qkv.x_masked_softmax__mutmut_22": "one max over the whole array instead of per row: new "
        "case 'rows of very different sizes (+1000 and -1000)' (the low row underflows to 0 / 0)",
    "autograder.grading.reference.qkv.x_masked_softmax__mutmut_25": "same as mutmut_22 (axis dropped)",
    **{f"autograder.grading.reference.modern.x_blockwise_attention__mutmut_{n}": "one maximum over every query at once "
       "instead of per query: new case 'queries with scores of very different sizes (+1000 and -1000)' (the low "
       "queries underflow to 0 / 0)" for n in (155, 157)},
}
