"""A user model unlike Django's: ``AbstractBaseUser`` + ``PermissionsMixin``, a UUID primary key,
e-mail login and no ``get_full_name``. tests/settings_custom_user.py installs it; the member paths
run against it in tests/custom_user/member_paths.py and in the fresh site of tests/test_dropin.py.
"""
