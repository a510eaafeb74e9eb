// SPDX-License-Identifier: GPL-2.0
/* skb_trim absorbed (net/core/skbuff.c): cut a linear skb down to len bytes (nothing when it is
 * not longer). A nonlinear skb, where the kernel's __skb_set_length WARNs and does nothing, goes
 * to the kernel's skb_trim through its exit wrapper. */
#include <linux/skbuff.h>

#include "christo_absorb.h"

CHRISTO_ABSORB(skb_trim, "skb_trim", "");

void christo_absorbed_skb_trim(struct sk_buff *skb, unsigned int len)
{
	if (skb->len <= len)
		return;
	if (unlikely(skb_is_nonlinear(skb))) {
		skb_trim(skb, len);
		return;
	}
	skb->len = len;
	skb_set_tail_pointer(skb, len);
}
