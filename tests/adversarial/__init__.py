"""The standing adversarial suite (issue 11): hostile backup directories, built from real files
by hypothesis, run through the real CLI, and held to the invariants the tool promises.

- ``disk``: snapshots of a tree (to prove nothing outside changed) and makers of odd files;
- ``layout``: what an honest directory holds, the hostile things added to it, and building both;
- ``cli``: running the console command as a subprocess (as root or as a second user) and the
  invariants every single run must keep;
- ``test_*``: the properties, and example-based regressions pinning the issue's cases.
"""
