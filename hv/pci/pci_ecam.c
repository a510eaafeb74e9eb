/* See pci_ecam.h. */
#include "pci/pci_ecam.h"

int pci_ecam_decode(const struct pci_ecam_window *w, int n, u64 gpa, u16 *bdf, u16 *off)
{
    for (int i = 0; i < n; i++) {
        u64 rel;
        if (w[i].bus_end < w[i].bus_start || gpa < w[i].base)
            continue;
        rel = gpa - w[i].base;
        if (rel >= pci_ecam_window_size(&w[i]))
            continue;
        /* rel is (bus - bus_start) << 20 | dev << 15 | fn << 12 | offset */
        *bdf = (u16)((rel >> 12) + ((u64)w[i].bus_start << 8));
        *off = (u16)(rel & 0xfff);
        return i;
    }
    return -1;
}
