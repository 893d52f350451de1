"""Routing decisions: which structure is competent for a request, and why.

- ``values``     what a decision is made of: the request facts, each rule's step of the
  chain, the assignment, the decision;
- ``rules``      the rules, each ``(view, request) -> Verdict``, and ``RULES``, their order;
- ``table``      ``RoutingTable``: one reference version in memory, deciding with ``RULES``;
- ``overrides``  decisions taken by people, and re-routing after a change of subject;
- ``store``      the decisions as recorded in the database.
"""
