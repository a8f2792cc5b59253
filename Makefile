.PHONY: demo test sanity units integration bench reliability lint docs changelog
demo:
	scripts/demo.sh
test:
	scripts/test.sh
sanity units integration lint:
	scripts/test.sh $@
bench:
	scripts/bench.sh
reliability:
	scripts/reliability.sh
docs:
	scripts/docs.sh
changelog:
	scripts/changelog.sh
