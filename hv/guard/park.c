/* See park.h. */
#include "guard/park.h"

/* Stack slots are 8-byte aligned and neighbouring crossings are a few hundred bytes apart:
 * a multiplicative hash spreads them over the buckets. */
static struct parked *bucket_of(struct park *p, u64 slot) { return p->e[((slot >> 3) * 0x9e3779b97f4a7c15ull) >> 58]; }

void park(struct park *p, u64 slot, u64 addr)
{
    struct parked *bucket = bucket_of(p, slot), *e = &bucket[0];

    for (u32 i = 0; i < PARK_WAYS; i++) {
        if (!bucket[i].used) {
            e = &bucket[i];
            break;
        }
        if (bucket[i].seq < e->seq)
            e = &bucket[i];
    }
    e->slot = slot;
    e->addr = addr;
    e->seq = ++p->seq;
    e->used = true;
}

bool unpark(struct park *p, u64 slot, u64 *addr)
{
    struct parked *bucket = bucket_of(p, slot), *newest = NULL;

    for (u32 i = 0; i < PARK_WAYS; i++)
        if (bucket[i].used && bucket[i].slot == slot && (!newest || bucket[i].seq > newest->seq))
            newest = &bucket[i];
    if (!newest)
        return false;
    newest->used = false;
    *addr = newest->addr;
    return true;
}
