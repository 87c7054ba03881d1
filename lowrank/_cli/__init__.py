"""The pieces of the ``lowrank`` command; :mod:`lowrank.cli` assembles them.

* :mod:`~lowrank._cli.console` — output, progress on stderr, `CommandError`;
* :mod:`~lowrank._cli.io` — reading matrices and images, writing results;
* :mod:`~lowrank._cli.plots` — figures (matplotlib, imported only here);
* :mod:`~lowrank._cli.spectrum` — singular values and their summary;
* :mod:`~lowrank._cli.demo`, :mod:`~lowrank._cli.compress`,
  :mod:`~lowrank._cli.pinv`, :mod:`~lowrank._cli.info` — one subcommand each.

Nothing here is public API; the command line is.
"""
