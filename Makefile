# ipdesk — `make run` (the sandbox, or the real Telegram with BOT_TOKEN) and `make test`.
# Both create .venv and install the locked dependencies on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCALES := locales
POT := $(LOCALES)/messages.pot
LANGS := kk ru ko en

.PHONY: run test bench lint i18n i18n-extract i18n-update i18n-compile lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $(STAMP)

run: $(STAMP) i18n-compile
	@if [ -n "$$BOT_TOKEN" ]; then \
		$(PY) -m bot migrate && exec $(PY) -m bot run; \
	else \
		echo "No BOT_TOKEN: starting the sandbox, a local Telegram; the web chat opens at http://127.0.0.1:$${SANDBOX_PORT:-8080}/"; \
		$(PY) -m bot migrate && exec $(PY) -m sandbox; \
	fi

# The whole suite on SQLite (with the PostgreSQL, Redis and replica tests), then the tests that
# start the bot again on PostgreSQL + Redis (IPDESK_TEST_BACKEND, tests/conftest.py), each in
# TEST_WORKERS processes (pytest-xdist: most tests wait on the stand-in, not the CPU); last,
# alone, the tests that restart a shared service (marker `serial`).
TEST_WORKERS ?= 3
test: $(STAMP) i18n-compile
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) -m "not serial"
	IPDESK_TEST_BACKEND=pg $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) -m "not serial"
	$(PY) -m pytest -q -p no:cacheprovider -m serial

bench: $(STAMP) i18n-compile
	@for f in bench/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check bot handlers db

i18n: i18n-extract i18n-update i18n-compile

i18n-extract: $(STAMP)
	$(PY) -m babel.messages.frontend extract -F babel.cfg -k __ -k lazy_gettext \
		--no-location --sort-output --project=ipdesk -o $(POT) .

i18n-update: $(STAMP)
	@for l in $(LANGS); do \
		if [ -f $(LOCALES)/$$l/LC_MESSAGES/messages.po ]; then \
			$(PY) -m babel.messages.frontend update -i $(POT) -d $(LOCALES) -D messages -l $$l --no-fuzzy-matching --ignore-obsolete; \
		else \
			$(PY) -m babel.messages.frontend init -i $(POT) -d $(LOCALES) -D messages -l $$l; \
		fi; \
	done

i18n-compile: $(STAMP)
	$(PY) -m babel.messages.frontend -q compile -d $(LOCALES) -D messages

# Re-resolve the lock file after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev -p 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build
