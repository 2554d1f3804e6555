# Shortcuts for people; agents follow SKILL.md. Every target needs BG_PASSWORD set.
S := skills/background-manager/scripts
DIST := skills/background-manager/dist

# The targets run the documented form: the bundled scripts under plain node (dist/, built by
# `npm ci`, or here on first use). TSX=1 (e.g. `make list TSX=1`) runs the compatible form,
# `npx tsx scripts/<name>.ts`: same arguments and output, about a second slower per call.
# FAST=1, which chose the bundled scripts when they were not the default, is still accepted.
ifdef TSX
RUN = npx tsx $(S)/$(1).ts
NEEDS :=
else
RUN = node $(DIST)/$(1).mjs
NEEDS := $(DIST)/list_processes.mjs
endif

.PHONY: install build test test-unit stress typecheck bench secret-rules demo screenshots start list logs stop send dashboard attach

install:            ## install dependencies from the lockfile and build dist/ (supervisor, fast path)
	npm ci
	npm run build

build:              ## bundle the supervisor and the fast path's scripts into plain JavaScript (dist/)
	npm run build

$(DIST)/%.mjs:
	npm run build

test:               ## type check and run every test: the unit tier, then the full tier
	npm test

test-unit:          ## only the unit tier (tests/unit/: in process, seconds)
	npm run test:unit

stress:             ## the heavier reliability tests (tests/stress/): minutes, and a few GB of disk
	npm run build
	npx uvu -r tsx tests/stress "\.test\.ts$$" -b

typecheck:
	npx tsc -p tsconfig.json

secret-rules:       ## regenerate lib/util/secret-rules.gen.ts from gitleaks' pinned release (needs network)
	curl -fsSL https://raw.githubusercontent.com/gitleaks/gitleaks/v8.30.1/config/gitleaks.toml -o /tmp/gitleaks.toml
	node tools/gen-secret-rules.mjs /tmp/gitleaks.toml v8.30.1 > skills/background-manager/scripts/lib/util/secret-rules.gen.ts

bench:              ## measure the performance targets side by side
	npm run bench

demo:               ## start a short demo process in a throwaway data dir and show each script
	@bash docs/demo.sh

screenshots:        ## refresh README's pictures of the dashboard (docs/dashboard.png, docs/dashboard-phone.png) from its browser tests
	npm run build
	DASHBOARD_SCREENSHOTS=docs npx uvu -r tsx tests 'dashboard\.test\.ts$$'

# CMD and TEXT reach the scripts through the environment as typed: quotes and $ stay as they
# are (make and the shell would otherwise expand or split them). CMD is one shell command line.
# OPTS are start_process's options, split at spaces (e.g. OPTS="--name web --wait-port 8080").
# Make exports the variables given on its command line to every recipe, expanding them first:
# a CMD or TEXT holding $(shell ...) would run it (even for `make list`). They are not exported;
# the recipes get their raw text through BG_MAKE_CMD and BG_MAKE_TEXT.
unexport CMD TEXT
start: export BG_MAKE_CMD := $(value CMD)
send: export BG_MAKE_TEXT := $(value TEXT)

# $(call NEED,VAR,example): stop with a usage line (exit 2, as the scripts) if VAR is not given.
NEED = $(if $(value $(1)),,@echo 'make $@: $(1) is missing. Example: $(2)' >&2; exit 2)

start: $(NEEDS)     ## make start CMD="python3 -m http.server 8080" [OPTS="--name web --wait-port 8080"] [TSX=1]
	$(call NEED,CMD,make start CMD="python3 -m http.server 8080" OPTS="--name web")
	$(call RUN,start_process) $(OPTS) -- "$$BG_MAKE_CMD"

list: $(NEEDS)      ## make list [TSX=1]
	$(call RUN,list_processes)

logs: $(NEEDS)      ## make logs ID=a1b2 [N=50] [TSX=1]
	$(call NEED,ID,make logs ID=a1b2 N=50 (make list shows the IDs))
	$(call RUN,get_logs) $(ID) -n $(or $(N),20)

stop: $(NEEDS)      ## make stop ID=a1b2 [TSX=1]
	$(call NEED,ID,make stop ID=a1b2 (make list shows the IDs))
	$(call RUN,stop_process) $(ID)

send: $(NEEDS)      ## make send ID=a1b2 TEXT="yes" [TSX=1]
	$(call NEED,ID,make send ID=a1b2 TEXT="yes" (make list shows the IDs))
	$(call NEED,TEXT,make send ID=a1b2 TEXT="yes" (TEXT is sent with a newline))
	$(call RUN,send_input) $(ID) -- "$$BG_MAKE_TEXT"

attach: $(NEEDS)    ## make attach ID=a1b2 [OPTS=--read-only] [TSX=1]: your terminal on a PTY process; Ctrl-] detaches, it keeps running
	$(call NEED,ID,make attach ID=a1b2 (make list shows the IDs))
	$(call RUN,attach_process) $(OPTS) $(ID)

dashboard: $(NEEDS) ## make dashboard [PORT=8080] [TSX=1]: a live web page of every process; open the URL it prints
	$(call RUN,dashboard) $(if $(PORT),--port $(PORT))
