# Shortcuts for people; agents follow SKILL.md. Every target needs BG_PASSWORD set.
S := skills/background-manager/scripts
TSX := npx tsx

.PHONY: install build test typecheck bench demo start list logs stop send

install:            ## install dependencies from the lockfile and build the supervisor
	npm ci
	npm run build

build:              ## bundle the supervisor into plain JavaScript (dist/)
	npm run build

test:               ## type check and run every test
	npm test

typecheck:
	npx tsc -p tsconfig.json

bench:              ## measure the performance targets side by side
	npm run bench

demo:               ## start a short demo process in a throwaway data dir and show each script
	@bash docs/demo.sh

start:              ## make start CMD="python3 -m http.server 8080"
	$(TSX) $(S)/start_process.ts $(CMD)

list:               ## make list
	$(TSX) $(S)/list_processes.ts

logs:               ## make logs ID=a1b2 [N=50]
	$(TSX) $(S)/get_logs.ts $(ID) -n $(or $(N),20)

stop:               ## make stop ID=a1b2
	$(TSX) $(S)/stop_process.ts $(ID)

send:               ## make send ID=a1b2 TEXT="yes"
	$(TSX) $(S)/send_input.ts $(ID) "$(TEXT)"
