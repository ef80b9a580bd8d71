"""Leakage audit: grouping."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# --------------------------------------------------------------------------- groups


def group_ids(
    ids: Sequence[str], patients: Sequence[str], links: Iterable[tuple[str, str]]
) -> list[str]:
    """One group id per image: connected components of patient ids and links.

    Parameters
    ----------
    ids : sequence of str
        Image ids.
    patients : sequence of str
        Patient id per image (the image's own id where a dataset has none).
    links : iterable of (str, str)
        Linked image ids.

    Returns
    -------
    list of str
        ``g0001``, ``g0002``, ... numbered in the order of each group's smallest image id, so
        the same images and links always give the same names, in any input order.
    """
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(x: int, y: int) -> None:
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)

    position = {image_id: i for i, image_id in enumerate(ids)}
    if len(position) != len(ids):
        raise ValueError("image ids must be unique")
    first_of_patient: dict[str, int] = {}
    for i, patient in enumerate(patients):
        union(first_of_patient.setdefault(patient, i), i)
    for a, b in links:
        union(position[a], position[b])
    smallest: dict[int, str] = {}
    for i, image_id in enumerate(ids):
        root = find(i)
        if root not in smallest or image_id < smallest[root]:
            smallest[root] = image_id
    width = max(4, len(str(len(smallest))))
    names = {
        root: f"g{rank:0{width}d}"
        for rank, root in enumerate(sorted(smallest, key=smallest.get), start=1)
    }
    return [names[find(i)] for i in range(len(ids))]
