"""Offline replacement for the get-pip.py that ansible-test fetches to seed pip into its sanity venvs.

scripts/bootstrap.sh copies this file to ~/.ansible/test/cache/get_pip_<version>.py, where ansible-test
looks before downloading. pip comes from the wheel bundled with the interpreter (ensurepip); the packages
ansible-test asks for come from the configured package index.
"""
import ensurepip
import os
import subprocess
import sys


def main(argv):
    ensurepip.bootstrap(upgrade=True)
    # ensurepip sets PIP_CONFIG_FILE=/dev/null for its own run and leaves it in os.environ; the machine's
    # pip configuration (index, CA bundle) has to apply to the install below.
    os.environ.pop('PIP_CONFIG_FILE', None)
    # get-pip.py options that plain pip does not know.
    wanted = [arg for arg in argv if arg not in ('--no-setuptools', '--no-wheel')]
    return subprocess.call([sys.executable, '-m', 'pip', 'install', '--quiet'] + wanted)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
