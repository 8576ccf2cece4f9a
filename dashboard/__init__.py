"""信访督查看板 core package: configuration, database, rules, draws, import, auth."""
