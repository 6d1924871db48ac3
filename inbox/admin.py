"""ModelAdmins of the app."""

from django.contrib import admin

from inbox.models import App, Conversation, Message, Participant


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "created_at"]
    list_filter = ["kind"]
    search_fields = ["display_name", "anonymous_visitor_id", "contact_id", "member_id"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "last_message_preview", "last_activity_at"]
    search_fields = ["participant__display_name", "last_message_preview"]
    list_select_related = ["participant"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["sequence", "conversation", "direction", "visibility", "content_type"]
    list_filter = ["direction", "visibility", "content_type"]
    list_select_related = ["conversation__participant"]


@admin.register(App)
class AppAdmin(admin.ModelAdmin):
    list_display = ["name", "key_prefix", "is_active", "created_at"]
