DROP TABLE webhook_deliveries;
DROP TABLE hook_webhooks;
