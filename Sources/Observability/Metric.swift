/// Every metric a CareForAll service records: the one place their names and `# HELP` texts are
/// written. Code records through `ServiceMetrics` with these cases; the admin status page and the
/// alert rules read the same names.
public enum Metric: String, CaseIterable, Sendable {
    // HTTP (every service)
    case httpRequestsTotal = "http_requests_total"
    case httpRequestDurationSeconds = "http_request_duration_seconds"
    case signatureFailuresTotal = "signature_failures_total"
    case rateLimitedTotal = "rate_limited_total"
    case idempotentReplaysTotal = "idempotent_replays_total"
    case storedValuesUnknownTotal = "stored_values_unknown_total"
    // Outbox (every publishing service)
    case outboxPendingRows = "outbox_pending_rows"
    case outboxOldestPendingSeconds = "outbox_oldest_pending_seconds"
    case outboxDeadRows = "outbox_dead_rows"
    case outboxDeliveryAttemptsTotal = "outbox_delivery_attempts_total"
    case outboxDeliveredTotal = "outbox_delivered_total"
    case outboxDeliveryFailuresTotal = "outbox_delivery_failures_total"
    case outboxDeadTotal = "outbox_dead_total"
    // campaign-service
    case eventsIngestedTotal = "events_ingested_total"
    case reconciliationRunsTotal = "reconciliation_runs_total"
    case reconciliationDrift = "reconciliation_drift"
    // pledge-service
    case pledgeTransitionsTotal = "pledge_transitions_total"
    // payment-service
    case paymentsCreatedTotal = "payments_created_total"
    case paymentTransitionsTotal = "payment_transitions_total"
    case paymentsCapturedMinorUnitsTotal = "payments_captured_minor_units_total"
    case paymentMethodsRefusedTotal = "payment_methods_refused_total"
    case paymentsRecoveredTotal = "payments_recovered_total"
    case paymentsUnsettledStale = "payments_unsettled_stale"
    case providerWebhooksTotal = "provider_webhooks_total"
    case refundsTotal = "refunds_total"
    case paymentRefundUpdatesTotal = "payment_refund_updates_total"
    case sandboxWebhooksPending = "sandbox_webhooks_pending"
    // notification-service
    case notificationEventsTotal = "notification_events_total"
    case mailsSentTotal = "mails_sent_total"
    case mailsFailedTotal = "mails_failed_total"
    case mailAttemptsFailedTotal = "mail_attempts_failed_total"
    case mailQueueSize = "mail_queue_size"
    case mailQueueOldestAgeSeconds = "mail_queue_oldest_age_seconds"
    case mailFailedSize = "mail_failed_size"

    public var name: String { rawValue }

    /// The `# HELP` text.
    public var help: String {
        switch self {
        case .httpRequestsTotal: "HTTP requests answered, by route template, method and status."
        case .httpRequestDurationSeconds: "Time to answer an HTTP request, by route template."
        case .signatureFailuresTotal: "Internal calls refused for a missing, stale or wrong signature, by reason."
        case .rateLimitedTotal: "Requests the gateway refused with 429, by limit."
        case .idempotentReplaysTotal: "Requests answered from a stored Idempotency-Key result instead of being run again."
        case .storedValuesUnknownTotal: "Rows read that held a value this code does not know (a status, a currency, a kind), by column: the request or round failed rather than guess."
        case .outboxPendingRows: "Outbox rows not yet delivered nor dead."
        case .outboxOldestPendingSeconds: "Age of the oldest undelivered outbox row, in seconds."
        case .outboxDeadRows: "Outbox rows refused for good and kept as dead."
        case .outboxDeliveryAttemptsTotal: "Outbox messages sent to a destination, counting retries."
        case .outboxDeliveredTotal: "Outbox messages their destination accepted."
        case .outboxDeliveryFailuresTotal: "Outbox messages whose delivery failed and will be retried."
        case .outboxDeadTotal: "Outbox messages their destination refused for good."
        case .eventsIngestedTotal: "Events campaign-service received, by type and result (applied, duplicate, rejected)."
        case .reconciliationRunsTotal: "Reconciliation runs, by result (clean or drift)."
        case .reconciliationDrift: "Differences the last reconciliation run found between the ledgers and the read model."
        case .pledgeTransitionsTotal: "Payment notices applied to pledges, by result."
        case .paymentsCreatedTotal: "Payments created, by provider."
        case .paymentTransitionsTotal: "Payment status changes recorded, by status."
        case .paymentsCapturedMinorUnitsTotal: "Money captured, in minor units, by currency."
        case .paymentMethodsRefusedTotal: "Payments refused because the payment method does not exist."
        case .paymentsRecoveredTotal: "Unsettled payments settled by recovery, by how."
        case .paymentsUnsettledStale: "Payments the last recovery round found unsettled for too long."
        case .providerWebhooksTotal: "Payment provider webhooks received, by event type and result."
        case .refundsTotal: "Refunds requested, by result."
        case .paymentRefundUpdatesTotal: "Refund amounts recorded on payments, by result."
        case .sandboxWebhooksPending: "Sandbox provider webhook copies queued or on their way (0 once every copy has landed or been given up)."
        case .notificationEventsTotal: "Events notification-service received, by result."
        case .mailsSentTotal: "Mails the SMTP server (or the mail folder) accepted, by kind."
        case .mailsFailedTotal: "Mails the server refused for good, by kind."
        case .mailAttemptsFailedTotal: "Mail sending attempts that failed and will be retried, by kind."
        case .mailQueueSize: "Mails queued and not yet sent."
        case .mailQueueOldestAgeSeconds: "Age of the oldest queued mail, in seconds."
        case .mailFailedSize: "Mails kept as FAILED until an admin sends them again."
        }
    }
}
