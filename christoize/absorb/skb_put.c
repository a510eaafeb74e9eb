// SPDX-License-Identifier: GPL-2.0
/* skb_put absorbed (net/core/skbuff.c): extend the data area of a linear skb by len bytes and
 * return the old tail. Inside the border only when it cannot fail; a nonlinear skb or one
 * without the tailroom (where the kernel's own skb_put BUGs, in SKB_LINEAR_ASSERT or
 * skb_over_panic) goes to the kernel's skb_put through its exit wrapper, which panics as it always did. */
#include <linux/skbuff.h>

#include "christo_absorb.h"

CHRISTO_ABSORB(skb_put, "skb_put", "");

void *christo_absorbed_skb_put(struct sk_buff *skb, unsigned int len)
{
	void *tail = skb_tail_pointer(skb);

	if (unlikely(skb_is_nonlinear(skb) || len > skb->end - skb->tail))
		return skb_put(skb, len);
	skb->tail += len;
	skb->len += len;
	return tail;
}
