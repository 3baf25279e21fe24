# Shortcuts for the two commands in the README (which need no make): ./run.sh and ./test.sh.
.PHONY: run test clean

run:
	./run.sh

test:
	./test.sh

clean:
	rm -rf .venv
