"""Routing's reference data: INPS's structures and what each covers, loaded as versions.

- ``model``    the rows (sedi, comuni they cover, CRIC, subjects, poli, patronato offices,
  companies, matricola prefixes), each with its effective period, and ``ReferenceData``;
- ``istat``    comuni, provinces and CAPs from the ISTAT data;
- ``view``     ``ReferenceView``: the rows of one version in force on one day, indexed;
- ``dataset``  a directory of CSV files, read and written (the sample is in ``data/sample/``);
- ``checks``   what a dataset must pass before it may become the active version;
- ``sample``   the generated sample (made-up offices, not INPS's);
- ``store``    the versions in the database;
- ``command``  ``python -m services.routing.reference generate | load | versions``.
"""
