"""The container files agree with each other and hold nothing of one machine: Dockerfile, .dockerignore,
.devcontainer/devcontainer.json, the Makefile's image targets. (tests/test_image.py runs the image itself.)"""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / 'Dockerfile').read_text()


def env_of_dockerfile() -> dict:
    """NAME=value pairs of the Dockerfile's ARG and ENV lines (defaults, unexpanded)."""
    pairs = {}
    for line in DOCKERFILE.splitlines():
        if line.startswith(('ARG ', 'ENV ')):
            pairs.update(re.findall(r'(\w+)=(\S+)', line))
    return pairs


def jsonc(path: Path):
    """JSON with // comment lines (devcontainer.json)."""
    return json.loads('\n'.join(line for line in path.read_text().splitlines() if not line.lstrip().startswith('//')))


def test_no_path_of_one_machine_in_the_container_and_set_up_files():
    machine = re.compile(r'/root\b|/work/|/tmp/w\b|(?<!HOME/)\.pyenv|/opt/wheels|/opt/pypi|/usr/local/bin|/home/(?!\$\{|jovyan)')
    for name in ('Dockerfile', 'Makefile', '.dockerignore', '.devcontainer/devcontainer.json', 'scripts/image',
                 'scripts/find-python'):
        found = [line for line in (ROOT / name).read_text().splitlines() if machine.search(line)]
        assert not found, f'{name}: {found}'


def test_the_ca_bundle_step_is_harmless_where_there_is_none():
    """The bundle is copied by a pattern that may match nothing, used only if non-empty, for the set-up alone,
    and the image is made from a stage it never entered."""
    assert 'COPY Dockerfile build/image/ca.pe[m] /tmp/build-ca/' in DOCKERFILE
    assert 'if [ -s /tmp/build-ca/ca.pem ]; then export PIP_CERT=/tmp/build-ca/ca.pem' in DOCKERFILE
    final = DOCKERFILE.rsplit('\nFROM ', 1)[1]
    assert final.startswith('system\n') and 'build-ca' not in final and 'PIP_CERT' not in final
    ignored = (ROOT / '.dockerignore').read_text().splitlines()
    assert '!build/image/ca.pem' in ignored and ignored.index('!build/image/ca.pem') > ignored.index('build/*')


def test_dockerignore_leaves_out_venvs_and_git():
    ignored = (ROOT / '.dockerignore').read_text().splitlines()
    assert {'.git', '.venv', '.venv-*', 'runs'} <= set(ignored)


def test_the_image_serves_jupyterlab_on_the_index_with_a_token():
    cmd = json.loads(re.search(r'^CMD (\[.*?\])$', DOCKERFILE.replace('\\\n', ''), re.M | re.S).group(1))
    assert cmd[:2] == ['jupyter', 'lab'] and '--ip=0.0.0.0' in cmd and '--port=8888' in cmd
    assert '--LabApp.default_url=/lab/tree/notebooks/00_index.ipynb' in cmd
    assert not [arg for arg in cmd if 'token' in arg.lower() or 'password' in arg.lower()]   # the default: a token
    assert 'EXPOSE 8888' in DOCKERFILE


def test_devcontainer_builds_the_dockerfile_and_uses_its_user_and_venv():
    config = jsonc(ROOT / '.devcontainer' / 'devcontainer.json')
    env = env_of_dockerfile()
    assert config['build'] == {'dockerfile': '../Dockerfile', 'context': '..'}
    assert config['remoteUser'] == env['NB_USER']
    home = env['HOME'].replace('${NB_USER}', env['NB_USER'])
    assert config['workspaceFolder'] == home and f'target={home},' in config['workspaceMount']
    assert config['customizations']['vscode']['settings']['python.defaultInterpreterPath'] == f"{env['VENV']}/bin/python"
    assert 8888 in config['forwardPorts']


def test_make_image_targets_go_through_scripts_image():
    makefile = (ROOT / 'Makefile').read_text()
    for target, command in (('image', 'build'), ('image-test', 'test'), ('image-benchmark', 'benchmark')):
        recipe = makefile.split(f'\n{target}:', 1)[1].split('\n\n')[0]
        assert f'scripts/image {command}' in recipe, recipe
    script = (ROOT / 'scripts' / 'image').read_text()
    assert 'kill "$DOCKERD_PID"' in script and 'trap stop_dockerd EXIT' in script   # stopped by its PID
    assert 'debootstrap --variant=minbase bookworm' in script and 'docker import' in script


def test_the_image_targets_set_up_this_machine_with_the_cpu_build():
    """`make image-benchmark GPU=1` builds the GPU image; this machine's venv (which runs tests/test_image.py and
    records the numbers) keeps MXNet's CPU build: the image's GPU never reaches `make setup` here."""
    makefile = (ROOT / 'Makefile').read_text()
    for target in ('image-test', 'image-benchmark'):
        rule = makefile.split(f'\n{target}:', 1)[1].split('\n\n')[0]
        prerequisites, recipe = rule.split('\n', 1)
        assert 'setup' not in prerequisites, rule
        assert '$(MAKE) --no-print-directory setup GPU=0' in recipe, rule


def test_readme_quotes_the_measured_image_and_memory():
    """The README's build time, image sizes and per-notebook memory are those of benchmarks/container_*.json."""
    readme = (ROOT / 'README.md').read_text()
    image = json.loads((ROOT / 'benchmarks' / 'container_image.json').read_text())
    cpu, gpu = image['cpu'], image['gpu']
    assert f"{cpu['build_seconds'] / 60:.1f} minutes" in readme
    assert f"{cpu['size_bytes'] / 1e9:.2f} GB" in readme and f"{gpu['size_bytes'] / 1e9:.2f} GB" in readme
    memory = json.loads((ROOT / 'benchmarks' / 'container_memory.json').read_text())
    for row in memory['notebooks']:
        assert f"| `{row['notebook'].removesuffix('.ipynb')}` | {row['kernel_peak_rss_mb']} MB |" in readme, row
    assert f"the JupyterLab server {memory['server_peak_rss_mb']} MB" in readme
