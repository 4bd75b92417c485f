"""``hukou-sim explore``: the scenario explorer in the browser, on Mesa's SolaraViz.

`levers` (the policy levers and saving them), `model` (the Mesa model SolaraViz steps),
`components` (the page's panels), `app` (the page), `server` (serving it on localhost).
"""

import warnings

# Mesa 3.3's own ComponentsView trips Solara's rules-of-hooks check on import; not ours to fix.
warnings.filterwarnings("ignore", message=r".*ComponentsView: `use_state` found despite",
                        category=UserWarning)
