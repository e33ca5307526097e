"""The Jupyter server's part of the RISE slideshows: a server extension that ``make setup`` enables for the venv.

jupyterlab-rise 0.43.1 (its latest release) has no setting for either of these:

* **Linear navigation.** RISE hands reveal.js a fixed list of options (controls, progress, history, width,
  height, margin, minScale, transition, slideNumber, center, help); the rest of a notebook's ``rise`` metadata
  never reaches it. reveal.js reads its options from the page's query string last (``Reveal.initialize`` merges
  ``getQueryHash()`` over them), so the server answers a slideshow address without ``slides.REVEAL_OPTIONS``
  with a redirect to the same address plus them: → and PageDown, what a presentation clicker sends, then walk
  every slide, subslide and fragment in order. Alt+R, the slideshow buttons and a typed address all come here.
* **Only the Lab extension the slideshow needs.** RISE's page loads every installed JupyterLab extension into
  the JupyterLab 4.3.4 it bundles; the Jupyter Notebook 7 extension (the ``jupyter`` package, which d2l
  requires, installs it) cannot load there and logs ``#RUNTIME-012`` (a shared module it needs is missing) in
  every slideshow. The slideshow gets the widget manager (the sliders) and nothing else.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from .slides import REVEAL_OPTIONS

#: The JupyterLab extensions the slideshow page loads.
SLIDESHOW_EXTENSIONS = ('@jupyter-widgets/jupyterlab-manager',)
RISE_NAME = 'rise'  # jupyterlab-rise's extension app, whose handler serves /rise/<notebook>


def extension_folders(names: tuple[str, ...] = SLIDESHOW_EXTENSIONS) -> list[str]:
    """Folders that offer the installed JupyterLab extensions ``names``, each ``@scope/name``, and no others of
    another scope: the folder of its scope (JupyterLab looks for extensions one level down in such a folder)."""
    from jupyter_core.paths import jupyter_path
    folders = []
    for name in names:
        found = [Path(root) / name for root in jupyter_path('labextensions') if (Path(root) / name / 'package.json').is_file()]
        if not name.startswith('@') or not found:
            raise ValueError(f'{name!r} must be an installed JupyterLab extension named @scope/name (run `make setup`)')
        folders.append(str(found[0].parent))
    return folders


def address_with_options(uri: str, present: set[str], options: dict[str, str] = REVEAL_OPTIONS) -> str | None:
    """``uri`` with the reveal.js ``options`` it lacks added to its query, or None when it has them all."""
    missing = {key: value for key, value in options.items() if key not in present}
    if not missing:
        return None
    return f'{uri}{"&" if "?" in uri else "?"}{urlencode(missing)}'


def _jupyter_server_extension_points() -> list[dict]:
    return [{'module': __name__}]


def _link_jupyter_server_extension(serverapp) -> None:
    """Before jupyterlab-rise reads its configuration: its page loads only ``SLIDESHOW_EXTENSIONS``."""
    rise_config = serverapp.config.RiseApp
    if 'labextensions_path' not in rise_config:     # a path set in the user's configuration wins
        rise_config.labextensions_path = extension_folders()


def _load_jupyter_server_extension(serverapp) -> None:
    """Serve /rise/<notebook> ahead of jupyterlab-rise (extensions load in alphabetical order): the reveal.js
    options go into the address, then jupyterlab-rise's own handler draws the slideshow."""
    from jupyter_server.base.handlers import path_regex
    from jupyter_server.utils import url_path_join
    from jupyterlab_rise.app import RiseHandler
    from tornado import web

    class RevealOptionsHandler(RiseHandler):
        @web.authenticated
        def get(self, path: str | None = None):
            target = address_with_options(self.request.uri, set(self.request.query_arguments))
            if target is not None:
                return self.redirect(target)
            return super().get(path)

    pattern = url_path_join(serverapp.base_url, f'/{RISE_NAME}') + path_regex
    serverapp.web_app.add_handlers('.*$', [(pattern, RevealOptionsHandler, {'name': RISE_NAME})])
