"""Agenda's reference data: the punti di consulenza of each sede (model and CSV in
``dataset``, the sample in ``sample``, versions in ``store``, the command in ``command``)."""
