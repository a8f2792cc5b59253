.PHONY: demo test sanity units integration bench
demo:
	scripts/demo.sh
test:
	scripts/test.sh
sanity units integration:
	scripts/test.sh $@
bench:
	scripts/bench.sh
