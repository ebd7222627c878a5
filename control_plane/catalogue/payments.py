"""The payments domain's console views: payments and subscriptions."""

from __future__ import annotations

from typing import Any

from flask_admin.contrib.sqla import ModelView
from sqlalchemy.orm import scoped_session

from control_plane.admin_support import DateOrDateTimeField, fk_link
from control_plane.admin_views import DomainModelView, blank_to_none, choices, to_minute, utc_iso
from control_plane.catalogue.users import UserNamesMixin, find_user, user_names
from domain_services.payments import services as payments
from domain_services.payments import subscriptions
from domain_services.payments.models import PAYMENT_STATUSES, PLAN_TYPES, Payment, Subscription


class PaymentView(UserNamesMixin, DomainModelView):
    """Payments (admin); editing changes the status along the allowed transitions only."""

    permission = "accounts"
    entity = "payment"
    column_list = ("id", "user_id", "amount", "status", "payment_method", "plan_type", "timestamp")
    column_searchable_list = ("transaction_id", "payment_method")
    column_filters = ("user_id", "status", "amount", "timestamp", "plan_type")
    column_sortable_list = ("id", "user_id", "amount", "status", "timestamp")
    column_formatters = {"user_id": fk_link("user", user_names)}
    column_formatters_detail = column_formatters
    # A payment starts pending (the domain's rule): the create form has no status; editing offers
    # only the moves the domain allows from the current status (payments.TRANSITIONS).
    form_columns = ("user_id", "amount", "status", "payment_method", "plan_type")
    form_choices = {"status": choices(PAYMENT_STATUSES), "plan_type": [("", "—"), *choices(PLAN_TYPES)]}
    edit_fields = ("status",)
    audit_fields = ("id", "user_id", "amount", "status", "payment_method", "plan_type")

    def create_form(self, obj: Any = None) -> Any:
        """The create form without ``status``: new payments are pending."""
        form = super().create_form(obj)
        del form["status"]
        return form

    def edit_form(self, obj: Any = None) -> Any:
        """The current status (pre-selected, so saving unchanged changes nothing) and the ones allowed next."""
        form = super().edit_form(obj)
        current = obj.status if obj is not None else None
        if current is None:  # Flask-Admin builds the form before it knows the record: any status
            form.status.choices = choices(PAYMENT_STATUSES)
            return form
        allowed = payments.TRANSITIONS.get(current, ())
        form.status.choices = [(current, f"{current} (current: no change)"), *choices(allowed)]
        if form.status.data not in dict(form.status.choices):
            form.status.data = current
        form.status.description = (f"allowed next: {', '.join(allowed)}" if allowed
                                   else f"{current} is final: no change allowed")
        return form

    def current_data(self, model):
        """The payment as the edit form holds it (its status)."""
        return {"status": model.status}

    def form_data(self, form, *, creating):
        """Form → the create payload, or just the new status when editing."""
        if not creating:
            return {"status": form.status.data}
        amount = form.amount.data
        return {k: v for k, v in {
            "user_id": find_user(form.user_id.data), "amount": float(amount) if amount is not None else None,
            "payment_method": blank_to_none(form.payment_method.data),
            "plan_type": blank_to_none(form.plan_type.data),
        }.items() if v is not None or k in ("user_id", "amount")}

    def domain_create(self, data):
        return payments.create_payment(data)

    def domain_update(self, pk, data):
        return payments.change_status(pk, data["status"])

    def domain_delete(self, pk):
        return payments.delete_payment(pk)


class SubscriptionView(UserNamesMixin, DomainModelView):
    """Subscriptions (admin)."""

    permission = "accounts"
    entity = "subscription"
    column_list = ("id", "user_id", "plan_type", "start_date", "end_date", "auto_renew")
    column_filters = ("user_id", "plan_type", "start_date", "end_date", "auto_renew")
    column_sortable_list = ("id", "user_id", "plan_type", "start_date", "end_date")
    column_formatters = {"user_id": fk_link("user", user_names)}
    column_formatters_detail = column_formatters
    form_columns = ("user_id", "plan_type", "start_date", "end_date", "auto_renew")
    form_choices = {"plan_type": choices(PLAN_TYPES)}
    form_overrides = {**UserNamesMixin.form_overrides, "start_date": DateOrDateTimeField,
                      "end_date": DateOrDateTimeField}
    # The domain never moves a subscription to another user, so the edit form does not offer it.
    edit_fields = ("plan_type", "start_date", "end_date", "auto_renew")
    audit_fields = ("id", "user_id", "plan_type", "start_date", "end_date", "auto_renew")

    def form_data(self, form, *, creating):
        """Form → ``{user_id, plan_type, start_date, end_date, auto_renew}`` (ISO strings)."""
        data: dict[str, Any] = {"plan_type": form.plan_type.data, "auto_renew": bool(form.auto_renew.data)}
        if creating:
            data["user_id"] = find_user(form.user_id.data)
        for name in ("start_date", "end_date"):
            value = getattr(form, name).data
            if value is not None or creating:
                data[name] = utc_iso(value) if value is not None else None
        return data

    def current_data(self, model):
        """The subscription as the edit form shows it: dates at the form's minute precision, in UTC."""
        return {"plan_type": model.plan_type, "auto_renew": bool(model.auto_renew),
                **{name: utc_iso(to_minute(getattr(model, name))) for name in ("start_date", "end_date")}}

    def domain_create(self, data):
        return subscriptions.create_subscription(data)

    def domain_update(self, pk, data):
        return subscriptions.update_subscription(pk, data)

    def domain_delete(self, pk):
        return subscriptions.delete_subscription(pk)



def views(session: scoped_session) -> list[ModelView]:
    """The payments domain's views."""
    return [PaymentView(Payment, session, name="Payments", endpoint="payments", category="Accounts"),
            SubscriptionView(Subscription, session, name="Subscriptions", endpoint="subscriptions",
                             category="Accounts")]
