# The course's two set-up commands (see README.md):
#   make book   build the HTML book (and print where it is); `make serve` also serves it on localhost:8000
#   make test   run the whole test suite (this is what .ci/run runs)
# Both create the virtual environment .venv on first use; nothing else needs installing by hand.

PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
JOBS    ?= 2
export PYTHONPATH := $(CURDIR):$(CURDIR)/lib
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book serve test variants release grade score extend exclude review duedate roster link term bench clean help

help:
	@sed -n '1,5p' Makefile

# bubblewrap sandboxes student code while grading (docs/grading.md); apt-get needs root, else sudo.
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): requirements.txt pyproject.toml lib/pyproject.toml
	command -v bwrap >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq bubblewrap; } \
		|| echo "warning: bubblewrap not installed; grading will refuse to run student code (see docs/grading.md)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-build-isolation --no-deps -e . -e lib
	touch $(STAMP)

# Browser assets the book serves itself so that it works offline (MathJax 3, pinned in package-lock.json).
ASSETS := node_modules/mathjax/es5/tex-chtml.js
$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(ASSETS)

# The browser tests drive Debian's chromium with Playwright (Playwright's own browser download is not used).
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	$(SUDO) apt-get install -y chromium || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

# A CJK font for the browser, so that the browser tests see the Chinese edition drawn with Chinese glyphs (also
# when chromium was installed before). The book itself needs no system font: its figures draw Chinese with the
# font the package attn ships (lib/attn/data/fonts/), on any machine.
CJK_BROWSER_FONT ?= /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
$(CJK_BROWSER_FONT):
	$(SUDO) apt-get install -y fonts-wqy-zenhei || ($(SUDO) apt-get update && $(SUDO) apt-get install -y fonts-wqy-zenhei)

# Graphviz's `dot` draws the book's schematic diagrams (sphinx.ext.graphviz) at build time, offline.
DOT ?= /usr/bin/dot
$(DOT):
	$(SUDO) apt-get install -y graphviz || ($(SUDO) apt-get update && $(SUDO) apt-get install -y graphviz)

# What the build needs beyond the venv: MathJax (npm) and Graphviz (apt-get). No CJK font: attn ships one.
book: $(STAMP) $(ASSETS) $(DOT)
	$(PY) -m bookbuild build

# The variant check (bookbuild/variants.py): every page that trains or samples, under three seeds, every CPU
# kernel path PyTorch can take here and 1 or 2 threads; prints the table of guards held (about an hour on 2 cores).
# `make test` runs its quick slice on every downloaded page (tests/test_download.py).
variants: $(STAMP) $(ASSETS) $(DOT)
	$(PY) -m bookbuild variants --jobs $(JOBS) $(ARGS)

serve: book
	$(PY) -m bookbuild serve

test: $(STAMP) $(ASSETS) $(CHROMIUM) $(CJK_BROWSER_FONT) $(DOT)
	$(PY) -m pytest -n $(JOBS) --dist loadgroup $(PYTEST_ARGS)

# make release (every assignment) or make release ASSIGNMENT=03-qkv (one)
release: $(STAMP)
	$(PY) -m autograder release $(ASSIGNMENT)

# The instructor's term (docs/grading.md, "A term"); ARGS passes any other option of the command, e.g.
#   make grade ASSIGNMENT=03-qkv SUBMISSIONS=path/to/submitted ARGS="--student alice --student bob"
#   make score ASSIGNMENT=03-qkv STUDENT=alice QUESTION=cosine-tests POINTS=1.5 COMMENT="keys not normalised"
#   make extend ASSIGNMENT=03-qkv STUDENT=alice ARGS="--days 2"     (or ARGS="--time-factor 2")
#   make exclude ASSIGNMENT=03-qkv STUDENT=carol ARGS="--reason withdrew"
#   make review ASSIGNMENT=03-qkv STUDENT=alice ARGS="--note 'the hang was the sandbox'"
#   make duedate ASSIGNMENT=03-qkv WHEN="2026-12-01 23:59 Europe/Paris"
#   make roster ROSTER=students.csv
#   make link SOURCE=liddellalice_1001 TARGET=alice   (one person under two ids)
#   make term                                 (the term total from grading/term.toml)
define need
$(if $($(1)),,$(error give $(1)=..., e.g. $(2)))
endef
# $(call q,NAME): the value of NAME as one shell word, every character kept ($, quotes, backslashes, spaces):
# make does not expand it ($(value)), and the shell reads it inside single quotes (a ' becomes '\'').
q = '$(subst ','\'',$(value $(1)))'
# grade installs MathJax too: the feedback pages typeset their math with it (offline, no CDN). GNU make exits 2
# whenever a recipe fails, so `make grade` cannot pass on the command's exit status 1 ("needs a human look"):
# scripts that need it run `python -m autograder grade` (docs/grading.md, "Exit status").
grade: $(STAMP) $(ASSETS)
	$(call need,ASSIGNMENT,ASSIGNMENT=03-qkv)$(call need,SUBMISSIONS,SUBMISSIONS=path/to/submitted)
	$(PY) -m autograder grade $(call q,ASSIGNMENT) $(call q,SUBMISSIONS) $(ARGS)

score: $(STAMP)
	$(call need,ASSIGNMENT,ASSIGNMENT=03-qkv)$(call need,STUDENT,STUDENT=alice)$(call need,QUESTION,QUESTION=cosine-tests)
	$(PY) -m autograder score $(call q,ASSIGNMENT) $(call q,STUDENT) $(call q,QUESTION) $(POINTS) \
		$(if $(value COMMENT),--comment $(call q,COMMENT)) $(ARGS)

extend exclude review: $(STAMP)
	$(call need,ASSIGNMENT,ASSIGNMENT=03-qkv)$(call need,STUDENT,STUDENT=alice)
	$(PY) -m autograder $@ $(call q,ASSIGNMENT) $(call q,STUDENT) $(ARGS)

duedate: $(STAMP)
	$(call need,ASSIGNMENT,ASSIGNMENT=03-qkv)$(call need,WHEN,WHEN="2026-12-01 23:59 Europe/Paris")
	$(PY) -m autograder duedate $(call q,ASSIGNMENT) $(call q,WHEN) $(ARGS)

roster: $(STAMP)
	$(call need,ROSTER,ROSTER=students.csv)
	$(PY) -m autograder roster $(call q,ROSTER) $(ARGS)

link: $(STAMP)
	$(call need,SOURCE,SOURCE=liddellalice_1001 TARGET=alice)
	$(call need,TARGET,SOURCE=liddellalice_1001 TARGET=alice)
	$(PY) -m autograder link $(call q,SOURCE) $(call q,TARGET) $(ARGS)

term: $(STAMP)
	$(PY) -m autograder term $(ARGS)

bench: $(STAMP) $(ASSETS) $(DOT)
	$(PY) benchmarks/book_build.py
	$(PY) benchmarks/grading_benchmark.py

clean:
	rm -rf _build

# Mutation testing of the hidden cases (mutmut on autograder/grading/reference/, the hidden cases as oracle; ~10 min).
mutation: $(STAMP)
	$(PY) benchmarks/mutation.py
