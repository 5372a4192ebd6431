"""The chain's rules, grouped by domain as Subtensor groups its pallet (find a rule by its file).

- :mod:`.balances` — ``transfer``, ``faucet``, ``sudo_set_balance``
- :mod:`.subnets` — ``register_network`` (lock cost, pruning a subnet), ``dissolve_network``
- :mod:`.registration` — ``burned_register``, hotkey ownership, adding/replacing a UID, the
  burn adjustment every interval
- :mod:`.staking` — ``add_stake``, ``remove_stake``, ``set_take``
- :mod:`.weights` — ``set_weights``, ``commit_weights``, ``reveal_weights`` and their checks
- :mod:`.serving` — ``serve_axon``
- :mod:`.root` — the root network (netuid 0): ``root_register``, ``set_root_weights`` and the
  subnets' emission shares it decides
- :mod:`.admin` — ``set_hyperparameter``, ``sudo_set_hyperparameter``, ``reset_bonds``
- :mod:`.coinbase` — per block: emission accrual, due epochs, paying their results
- :mod:`.governance` — the senate (top root validators by stake), ``propose``, ``vote``, and
  per block: senate changes, executing or closing decided proposals
- :mod:`.dispatch` — the one table of calls: name -> handler, argument schema, doc
- :mod:`.common` — lookups and checks several domains share

The pure arithmetic these rules use lives beside them in ``chain/emission.py`` (halvings,
shares, dividends) and ``chain/registration.py`` (burn, lock cost, prune choice). Rules change
state only through :class:`~subnetes.chain.state.State`'s accessors; error names come from
``subnetes.wire.errors.ErrorName`` and event kinds from ``subnetes.wire.events.EventKind``.
"""
