/* See page_alloc.h. O(pages) at worst: allocation happens at boot and on rare events, never on
 * the exit path. */
#include "lib/page_alloc.h"
#include "lib/phys.h"
#include "lib/lib.h"

struct page_pool hv_pages;

static bool used(const struct page_pool *p, u64 i) { return p->bitmap[i / 8] & (1u << (i % 8)); }
static void mark(struct page_pool *p, u64 i, bool on)
{
    if (on)
        p->bitmap[i / 8] |= (u8)(1u << (i % 8));
    else
        p->bitmap[i / 8] &= (u8) ~(1u << (i % 8));
}

void page_alloc_init(struct page_pool *p, hpa_t base, u64 size)
{
    hpa_t start = ALIGN_UP(base, PAGE_SIZE);
    u64 total = size > start - base ? (size - (start - base)) / PAGE_SIZE : 0;
    /* bitmap pages b cover the remaining total - b pages: b = ceil(total / (8*4096 + 1)) */
    u64 bitmap_pages = (total + 8 * PAGE_SIZE) / (8 * PAGE_SIZE + 1);

    memset(p, 0, sizeof(*p));
    if (total <= bitmap_pages)
        return;
    p->bitmap = phys_to_virt(start);
    p->base = start + bitmap_pages * PAGE_SIZE;
    p->npages = total - bitmap_pages;
    p->free = p->npages;
    memset(p->bitmap, 0, bitmap_pages * PAGE_SIZE);
}

/* Index of the last used page in [first, first + n), or -1 when the whole run is free. */
static s64 last_used(const struct page_pool *p, u64 first, u64 n)
{
    for (u64 i = first + n; i > first; i--)
        if (used(p, i - 1))
            return (s64)(i - 1);
    return -1;
}

static hpa_t take(struct page_pool *p, u64 first, u64 n)
{
    for (u64 i = first; i < first + n; i++)
        mark(p, i, true);
    p->free -= n;
    p->hint = first + n;
    memset(phys_to_virt(p->base + first * PAGE_SIZE), 0, n * PAGE_SIZE);
    return p->base + first * PAGE_SIZE;
}

/* First fit from the hint, then from the start. Alignment is of the physical address. */
static hpa_t search(struct page_pool *p, u64 from, u64 npages, u64 align_pages)
{
    u64 i = from;

    while (i <= p->npages - npages) {
        u64 mis = (p->base / PAGE_SIZE + i) % align_pages;
        s64 u;

        if (mis) {
            if (align_pages - mis > p->npages - i) /* also keeps i + step from wrapping */
                break;
            i += align_pages - mis;
            continue;
        }
        u = last_used(p, i, npages);
        if (u < 0)
            return take(p, i, npages);
        i = (u64)u + 1; /* no run starting at or before a used page can fit */
    }
    return 0;
}

hpa_t page_alloc(struct page_pool *p, u64 npages, u64 align_pages)
{
    hpa_t pa;

    if (!npages || npages > p->free || !align_pages)
        return 0;
    pa = search(p, p->hint, npages, align_pages);
    return pa || !p->hint ? pa : search(p, 0, npages, align_pages);
}

bool page_free(struct page_pool *p, hpa_t pa, u64 npages)
{
    u64 first;

    if (!npages || pa < p->base || !IS_ALIGNED(pa, PAGE_SIZE))
        return false;
    first = (pa - p->base) / PAGE_SIZE;
    if (first >= p->npages || npages > p->npages - first)
        return false;
    for (u64 i = first; i < first + npages; i++)
        if (!used(p, i))
            return false;
    for (u64 i = first; i < first + npages; i++)
        mark(p, i, false);
    p->free += npages;
    return true;
}

u64 page_pool_free_count(const struct page_pool *p) { return p->free; }
