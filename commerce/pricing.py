"""What a purchase pays: a flash sale's price, and the way back of a coupon's discount.

Below commerce/orders.py (which asks it the unit price of every purchase and, at every
refund, how much of the escrow was a coupon's discount) and below commerce/promotions.py
(whose transactions write the records read here). Pure, like every rule.

- A flash sale overrides a listing's unit price from its start height up to (not
  including) its end height, for at most its stock of units in all; a purchase that would
  pass the flash stock pays the listing's price. A flash price is never above the version's
  price (the lower of the two is paid).
- A refunded order paid partly by a coupon gives the buyer back what the buyer paid and
  the discount back to the campaign's budget (or, once the campaign is over, to the
  merchant who funded it): a refund never turns a discount into cash for the buyer.
"""

from __future__ import annotations

from commerce.ledger import POOL_CAMPAIGNS, credit, pool_add
from commerce.schema import load
from commerce.state import Overlay, StateReader
from commerce.teams_schema import (
    CampaignRecord,
    CampaignStatus,
    FlashSaleRecord,
    OrderDiscountRecord,
    campaign_key,
    flash_sale_key,
    order_discount_key,
)


def get_flash_sale(view: StateReader | Overlay, listing: int) -> FlashSaleRecord | None:
    """A listing's flash sale (current, past or future), or None."""
    return load(view, FlashSaleRecord, flash_sale_key(listing))


def flash_sale_applies(sale: FlashSaleRecord | None, height: int, quantity: int,
                       price: int) -> bool:
    """True when `sale` prices `quantity` units bought at `height` below `price`."""
    return (sale is not None and sale.start_height <= height < sale.end_height
            and sale.sold + quantity <= sale.stock and sale.price < price)


def unit_price(view: Overlay, listing: int, height: int, quantity: int,
               price: int) -> int:
    """The unit price a purchase of `quantity` at `height` pays (the version's `price`, or
    the flash sale's), counting the units against the flash stock when the sale applies."""
    sale = get_flash_sale(view, listing)
    if sale is None or not flash_sale_applies(sale, height, quantity, price):
        return price
    sale.sold += quantity
    view.put(flash_sale_key(listing), sale.to_bytes())
    assert sale.sold <= sale.stock, "a flash sale never sells past its stock"
    return sale.price


def get_campaign(view: StateReader | Overlay, campaign: int) -> CampaignRecord | None:
    """A campaign, or None."""
    return load(view, CampaignRecord, campaign_key(campaign))


def put_campaign(view: Overlay, campaign: int, record: CampaignRecord) -> None:
    """Store a campaign."""
    assert 0 <= record.budget <= record.funded, "a campaign never pays more than its budget"
    assert record.paid_out + record.budget + record.returned == record.funded, \
        "what was funded is paid out, still in the budget, or returned"
    view.put(campaign_key(campaign), record.to_bytes())


def get_order_discount(view: StateReader | Overlay, order: int) -> OrderDiscountRecord | None:
    """The coupon discount on an order, or None."""
    return load(view, OrderDiscountRecord, order_discount_key(order))


def return_discount(view: Overlay, order: int) -> int:
    """At the refund of `order`: give its coupon discount back to the campaign's budget
    (the merchant's balance once the campaign is over). Returns the discount (0 without a
    coupon): the part of the escrow that does not go back to the buyer."""
    found = get_order_discount(view, order)
    if found is None:
        return 0
    campaign = get_campaign(view, found.campaign)
    assert campaign is not None, "a discount's campaign exists"
    campaign.paid_out -= found.discount
    assert campaign.paid_out >= 0
    if campaign.status == CampaignStatus.OPEN:
        campaign.budget += found.discount
        pool_add(view, POOL_CAMPAIGNS, found.discount)
    else:
        campaign.returned += found.discount
        credit(view, campaign.merchant, found.discount)
    put_campaign(view, found.campaign, campaign)
    return found.discount
