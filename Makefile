# Everyday commands. `make` lists them.
SHELL := /bin/bash
COMPOSE ?= docker compose
NGINX_PORT ?= 8080
N ?= 3

.DEFAULT_GOAL := help
.PHONY: help env up down logs ps scale test bench dev key up-local build

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

env: ## create or complete .env (generated passwords and bootstrap admin key)
	@scripts/stack/init-env.sh

up: env ## the whole stack (api, postgres, redis, prometheus, grafana, pgadmin, ui, nginx)
	$(COMPOSE) up -d --build --wait
	@echo
	@echo "  playground  http://localhost:$(NGINX_PORT)/ui/   (admin: /ui/admin.html)"
	@echo "  API         http://localhost:$(NGINX_PORT)/v1/   docs: http://localhost:$(NGINX_PORT)/docs"
	@echo "  Grafana     http://localhost:$(NGINX_PORT)/grafana/   (admin / GRAFANA_ADMIN_PASSWORD in .env)"
	@echo "  pgAdmin     http://localhost:5050   Prometheus http://localhost:9090"
	@echo "  admin key   BOOTSTRAP_API_KEY in .env; make key LABEL=alice creates a user key"

down: ## stop the stack (data volumes kept; make down V=1 deletes them too)
	$(COMPOSE) down $(if $(V),--volumes)

logs: ## follow the logs (make logs S=api for one service)
	$(COMPOSE) logs -f --tail=200 $(S)

ps: ## the stack's containers and their health
	$(COMPOSE) ps

scale: ## run N api replicas behind nginx (make scale N=3)
	$(COMPOSE) up -d --wait --no-recreate --scale api=$(N)
	@# nginx resolves "api" when it loads its configuration: reload to pick up every replica.
	$(COMPOSE) exec nginx nginx -s reload

test: ## the whole test suite (real PostgreSQL, Redis, nginx and Chromium when present)
	npm test

bench: ## the gateway benchmark (bench/gateway/run.sh; needs wrk): make bench ARGS="-c 32 -d 15"
	bash bench/gateway/run.sh $(ARGS)

dev: ## embedded mode with watch: api on :8000 restarts on change, playground rebuilds
	scripts/stack/dev.sh

key: ## create a key (stack or npm start): make key LABEL=alice ROLE=user RPM=60 [ADMIN_KEY=sk-...] [URL=...]
	@scripts/stack/create-key.sh

up-local: ## the stack without Docker: api replicas on this machine's PostgreSQL/Redis behind nginx
	npm run stack:local -- --port $(NGINX_PORT) $(ARGS)

build: ## compile the server and the playground
	npm run build
