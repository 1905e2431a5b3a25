DROP TABLE trade_checklist_responses;
DROP TABLE trade_checklist_items;
DROP TABLE trade_checklist_templates;
DROP TABLE trade_notes;
